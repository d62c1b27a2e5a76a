/* internal.h — what the files of the HTTP server share, and nothing a handler needs (handlers
 * see http.h). The server is cut along its seams:
 *   server.c       startup and shutdown: the address, the MHD daemon, the drain on SIGTERM
 *   request.c      reading a request: MHD's callbacks, the body cap, the request's struct, the
 *                  accessors handlers call, the access log
 *   dispatch.c     routing and running: the route table lookup, authentication, CSRF, JSON
 *                  decoding, Idempotency-Key, the handler, the read transaction
 *   idempotency.c  the Idempotency-Key replay (rows in lib/store/idem.c)
 *   queues.c       the request threads (lp-write, lp-read) that run writes and long reads
 *   reply.c        writing the answer: JSON, raw, streamed, errors in the contract's shape
 *   assets.c       the embedded web UI files
 *   metrics.c      request counters and /metrics
 *   stream.c       GET /api/v1/stream: live Server-Sent Events without a thread per stream
 *   upload.c       bodies of R_UPLOAD routes streamed to a file in the spool directory
 * A request goes: request.c reads it, dispatch.c routes it, queues.c may hand it to a request
 * thread, dispatch.c runs it, reply.c (or assets.c) answers, request.c counts and frees it. */
#ifndef LP_HTTP_INTERNAL_H
#define LP_HTTP_INTERNAL_H
#include <microhttpd.h>
#include <time.h>
#include "http/http.h"

#define BODY_MAX (1 << 20)           /* a larger request body is drained and answered 413 */
#define URI_MAX 8192                 /* a longer request target is answered 414 */
enum { URI_BAD = 1, URI_LONG = 2 };  /* lp_req.bad_uri */
#define MAX_ROUTES 256               /* route indexes past the table: */
#define ROUTE_STATIC MAX_ROUTES      /* a static asset (the web UI, the OpenAPI file) */
#define ROUTE_NONE (MAX_ROUTES + 1)  /* no route matched */

static inline double http_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* dispatch.c. http_route finds what answers r (a route, a static asset, or an error left in
 * r->err with r->failed set), on the connection's thread; http_run runs the rest and leaves the
 * answer in r, sending nothing, so it may run on a request thread. */
void http_route(lp_req *r);
void http_run(lp_req *r);
/* The route r's method and path match, or -1 (nothing else is decided). */
int http_route_index(lp_req *r);
/* A GET or HEAD of the API (and /readyz): it runs in one read transaction. */
int http_is_read(const lp_req *r);

/* idempotency.c. begin replays a stored answer (sets *replayed) or reserves the key (held until
 * end, which stores a successful answer). */
lp_code lp_idem_begin(lp_req *r, const char *key, int *replayed);
void lp_idem_end(lp_req *r, const char *key, lp_code rc);

/* queues.c. The queue of request threads for writes or for long reads. */
typedef enum { HTTP_WRITES, HTTP_READS } http_queue_kind;
/* Suspends r's connection and queues r; 0 when the threads are stopping (the caller runs r). */
int http_queue(http_queue_kind q, lp_req *r);
int http_queues_start(int writers, int readers);   /* 0, or -1 when none could start */
void http_queues_stop(void);   /* finishes what is queued (resuming those connections), joins */

/* stream.c. Ends every live stream (GET /api/v1/stream) and stops its thread: the drain on
 * SIGTERM is not held up by them. */
void http_streams_stop(void);

/* reply.c. Sends what http_run left in r (an asset through assets.c), on the connection's own
 * thread; common_headers are on every answer. */
enum MHD_Result http_answer(lp_req *r);
enum MHD_Result http_send_error(lp_req *r);
void http_common_headers(struct MHD_Response *resp, lp_req *r);

/* assets.c. Answers the embedded file at r->url (404 in the contract's shape if none). */
enum MHD_Result http_send_asset(lp_req *r);

/* request.c. MHD's callbacks, given to MHD_start_daemon with the lp_app as their closure. */
enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload, size_t *upload_size, void **con_cls);
/* MHD_OPTION_URI_LOG_CALLBACK: sees the request target as sent, before MHD decodes it. */
void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);

/* upload.c. begin: as r's headers arrive; 1 when r is an upload (R_UPLOAD: routed, checked, its
 * file open, or r->failed), 0 otherwise. data: a piece of its body. end: when r ends. */
int http_upload_begin(lp_req *r);
void http_upload_data(lp_req *r, const char *data, size_t n);
void http_upload_end(lp_req *r);
/* The BLAKE2b-256 digest of an upload's body (for Idempotency-Key): 32 bytes into out. */
void http_upload_digest(lp_req *r, unsigned char out[32]);

/* metrics.c. */
void http_metrics_request(int route, int status, double seconds);   /* one answered request */
void http_metrics_error(lp_code c);                                  /* one error answer */
void http_metrics_in_flight(int delta);
int http_in_flight(void);
const char *http_route_label(int route);
#endif
