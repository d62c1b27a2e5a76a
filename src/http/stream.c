/* stream.c — GET /api/v1/stream: the live stream (Server-Sent Events) of the events of leads the
 * caller may see and the caller's own notifications.
 *
 * No thread is held per stream. The answer is an MHD callback response; when a stream has
 * nothing to send, its reader callback suspends the connection and answers 0 bytes, so the HTTP
 * thread goes on serving others. One hub thread (`lp-stream`) sleeps on the store's commit
 * signal (lp_store_commit_wait: woken after every commit of this process; otherwise every
 * 250 ms, which covers other servers on the same PostgreSQL), reads the newest event and
 * notification ids, and only for streams behind them reads what they may see, appends the SSE
 * messages to the stream's buffer and resumes its connection. A stream with nothing for 15 s is
 * resumed with a comment line (the heartbeat, which also finds clients that went away).
 *
 * Every message: `id: E.N` (the event and notification positions after it; Last-Event-ID with
 * either "E.N" or "E" resumes there), `event: <kind>`, `data: {id, lead_id, kind, entity,
 * entity_id, at}` (a notification: entity "notification"; an event of a message also `message:
 * {id, thread_id, status, channel, error?}`, its state then: queued, sent, delivered, failed,
 * received). Without Last-Event-ID a stream starts
 * at the newest ids. At most STREAMS_PER_USER streams per user and STREAMS_MAX in all (429).
 * On SIGTERM the server ends every stream (http_streams_stop) so the drain is not held up.
 *
 * Locks: the hub's mutex guards the list and the reference counts and is never held while
 * another lock is taken; a stream's mutex guards its buffer and is held while its connection
 * is suspended (reader) or resumed (hub), so a resume never comes before its suspend. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include "http/internal.h"
#include "http/routes/handlers.h"
#include "store/stream.h"

#define STREAMS_PER_USER 4
#define STREAMS_MAX 256
#define HEARTBEAT_S 15.0
#define POLL_MS 250
#define BATCH 200
#define STREAM_BUF_MAX (1 << 20)   /* a client this far behind is cut off; it resumes by Last-Event-ID */

typedef struct sse {
  pthread_mutex_t mu;
  struct MHD_Connection *conn;
  lp_actor actor;
  int64_t ev, nt;          /* positions: the last event / notification sent */
  lp_buf out;              /* bytes not yet taken by MHD, from `off` */
  size_t off;
  int suspended, closing;
  double last_sent;
  int refs;                /* the response's own, and the hub's while it works on the stream */
  struct sse *next;
} sse;

static pthread_mutex_t hub_mu = PTHREAD_MUTEX_INITIALIZER;
static sse *streams;
static int nstreams, hub_running, hub_stopping;
static pthread_t hub_th;
static lp_store *hub_store;

static void sse_unref_locked(sse *s) {   /* hub_mu held */
  if (--s->refs > 0) return;
  pthread_mutex_destroy(&s->mu);
  lp_buf_release(&s->out);
  free(s);
}

/* Appends the SSE message of one row. */
static void put_message(sse *s, json_t *row, int notification) {
  json_t *d = json_pack("{s:O, s:O, s:O, s:s, s:O, s:O}", "id", json_object_get(row, "id"), "lead_id",
                        json_object_get(row, "lead_id") ? json_object_get(row, "lead_id") : json_null(), "kind",
                        json_object_get(row, "kind"), "entity", notification ? "notification" : json_string_value(json_object_get(row, "entity")),
                        "entity_id", notification ? json_object_get(row, "id") : json_object_get(row, "entity_id"), "at",
                        json_object_get(row, "at"));
  if (!d) return;
  /* an event of a message carries the message's state, so a page updates it without reading it */
  const char *data = notification ? NULL : json_string_value(json_object_get(row, "data"));
  json_t *ed = data ? json_loads(data, 0, NULL) : NULL;
  if (json_is_integer(json_object_get(ed, "message_id")) && json_is_string(json_object_get(ed, "status"))) {
    json_t *m = json_pack("{s:O, s:O, s:O}", "id", json_object_get(ed, "message_id"), "thread_id",
                          json_object_get(ed, "thread_id") ? json_object_get(ed, "thread_id") : json_null(), "status", json_object_get(ed, "status"));
    if (m && json_is_string(json_object_get(ed, "error"))) json_object_set(m, "error", json_object_get(ed, "error"));
    if (m && json_is_string(json_object_get(ed, "channel"))) json_object_set(m, "channel", json_object_get(ed, "channel"));
    if (m) json_object_set_new(d, "message", m);
  }
  json_decref(ed);
  char *text = json_dumps(d, JSON_COMPACT);
  json_decref(d);
  const char *kind = json_string_value(json_object_get(row, "kind"));
  lp_buf_printf(&s->out, "id: %lld.%lld\nevent: %s\ndata: %s\n\n", (long long)s->ev, (long long)s->nt,
                kind && !strpbrk(kind, "\r\n") ? kind : "event", text ? text : "{}");
  free(text);
}

/* Reads what s may see after its positions into its buffer; 1 when there may be more. */
static int catch_up(sse *s, lp_db *db, int64_t head_ev, int64_t head_nt) {
  int more = 0;
  lp_err e = LP_ERR_INIT;
  json_t *evs = s->ev < head_ev ? lp_stream_events(db, &s->actor, s->ev, BATCH, &e) : NULL;
  lp_err_release(&e);
  json_t *nts = s->nt < head_nt ? lp_stream_notifications(db, &s->actor, s->nt, BATCH, &e) : NULL;
  lp_err_release(&e);
  pthread_mutex_lock(&s->mu);
  size_t i;
  json_t *row;
  if (evs) {
    json_array_foreach(evs, i, row) {
      s->ev = json_integer_value(json_object_get(row, "id"));
      put_message(s, row, 0);
    }
    /* fewer than a batch: nothing else visible up to the head (rows may already pass it) */
    if (json_array_size(evs) == BATCH) more = 1; else if (s->ev < head_ev) s->ev = head_ev;
  } else if (s->ev < head_ev) more = 1;   /* a failed read: try again */
  if (nts) {
    json_array_foreach(nts, i, row) {
      s->nt = json_integer_value(json_object_get(row, "id"));
      put_message(s, row, 1);
    }
    if (json_array_size(nts) == BATCH) more = 1; else if (s->nt < head_nt) s->nt = head_nt;
  } else if (s->nt < head_nt) more = 1;
  pthread_mutex_unlock(&s->mu);
  json_decref(evs);
  json_decref(nts);
  return more;
}

static void *hub_thread(void *arg) {
  (void)arg;
  prctl(PR_SET_NAME, "lp-stream");
  uint64_t gen = lp_store_commit_wait(0, 0);
  int more = 0;
  for (;;) {
    if (!more) gen = lp_store_commit_wait(gen, POLL_MS);
    more = 0;
    pthread_mutex_lock(&hub_mu);
    int stop = hub_stopping, n = 0;
    sse **work = calloc((size_t)nstreams + 1, sizeof *work);
    for (sse *s = streams; s && work; s = s->next) { s->refs++; work[n++] = s; }
    pthread_mutex_unlock(&hub_mu);
    int64_t head_ev = 0, head_nt = 0;
    lp_err e = LP_ERR_INIT;
    lp_db *db = !stop && n ? lp_store_reader(hub_store, &e) : NULL;
    if (db && lp_stream_heads(db, &head_ev, &head_nt, &e) != LP_OK) db = NULL;
    lp_err_release(&e);
    double now = http_mono();
    for (int i = 0; i < n; i++) {
      sse *s = work[i];
      if (db && (s->ev < head_ev || s->nt < head_nt)) more |= catch_up(s, db, head_ev, head_nt);
      pthread_mutex_lock(&s->mu);
      if (stop) s->closing = 1;
      if (s->out.len == s->off && !s->closing && now - s->last_sent >= HEARTBEAT_S) lp_buf_puts(&s->out, ": keep-alive\n\n");
      if (s->out.overflow) s->closing = 1;
      if (s->suspended && (s->out.len > s->off || s->closing)) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
      }
      pthread_mutex_unlock(&s->mu);
    }
    if (n) lp_store_release(hub_store);
    pthread_mutex_lock(&hub_mu);
    for (int i = 0; i < n; i++) sse_unref_locked(work[i]);
    pthread_mutex_unlock(&hub_mu);
    free(work);
    if (stop) break;
  }
  return NULL;
}

/* MHD's reader (through reply.c): the pending bytes, or suspend and answer "nothing now". */
static long sse_fill(void *state, char *buf, size_t max) {
  sse *s = state;
  pthread_mutex_lock(&s->mu);
  size_t have = s->out.len - s->off;
  if (have) {
    size_t n = have < max ? have : max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    if (s->off == s->out.len) { lp_buf_reset(&s->out); s->off = 0; s->out.overflow = 0; }
    s->last_sent = http_mono();
    pthread_mutex_unlock(&s->mu);
    return (long)n;
  }
  if (s->closing) { pthread_mutex_unlock(&s->mu); return 0; }
  s->suspended = 1;
  MHD_suspend_connection(s->conn);
  pthread_mutex_unlock(&s->mu);
  return LP_STREAM_WAIT;
}

static void sse_free(void *state) {
  sse *s = state;
  pthread_mutex_lock(&hub_mu);
  for (sse **p = &streams; *p; p = &(*p)->next)
    if (*p == s) { *p = s->next; nstreams--; break; }
  sse_unref_locked(s);
  pthread_mutex_unlock(&hub_mu);
}

/* "E" or "E.N"; 0 when malformed. */
static int parse_last_id(const char *v, int64_t *ev, int64_t *nt) {
  char *end;
  long long e = strtoll(v, &end, 10);
  if (end == v || e < 0) return 0;
  long long n = -1;
  if (*end == '.') {
    const char *p = end + 1;
    n = strtoll(p, &end, 10);
    if (end == p || n < 0) return 0;
  }
  if (*end) return 0;
  *ev = e;
  if (n >= 0) *nt = n;
  return 1;
}

lp_code h_stream(lp_req *r) {
  lp_db *db = lp_req_db(r);
  if (!db) return r->err.code;
  int64_t ev = 0, nt = 0;
  if (lp_stream_heads(db, &ev, &nt, &r->err) != LP_OK) return r->err.code;
  const char *last = lp_req_header(r, "Last-Event-ID");
  if (!last) last = lp_req_query(r, "last_event_id");
  if (last && *last) {
    int64_t e = ev, n = nt;
    if (!parse_last_id(last, &e, &n)) return lp_fail(&r->err, LP_EBADREQ, "Last-Event-ID must be an event id or E.N");
    if (e < ev) ev = e;
    if (n < nt) nt = n;
  }
  sse *s = calloc(1, sizeof *s);
  if (!s) return lp_fail(&r->err, LP_EINTERNAL, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  s->conn = r->conn;
  s->actor = r->actor;
  s->ev = ev;
  s->nt = nt;
  s->out = (lp_buf)LP_BUF_INIT(STREAM_BUF_MAX);
  s->refs = 1;
  s->last_sent = http_mono();
  lp_buf_puts(&s->out, "retry: 3000\n: connected\n\n");
  pthread_mutex_lock(&hub_mu);
  int mine = 0;
  for (sse *p = streams; p; p = p->next) mine += p->actor.id == r->actor.id;
  lp_code rc = LP_OK;
  if (hub_stopping) rc = lp_fail(&r->err, LP_EUNAVAILABLE, "The server is stopping");
  else if (mine >= STREAMS_PER_USER) rc = lp_fail(&r->err, LP_ERATE, "At most %d open streams per user", STREAMS_PER_USER);
  else if (nstreams >= STREAMS_MAX) rc = lp_fail(&r->err, LP_ERATE, "Too many open streams");
  else if (!hub_running) {
    hub_store = r->app->store;
    if (pthread_create(&hub_th, NULL, hub_thread, NULL) != 0) rc = lp_fail(&r->err, LP_EUNAVAILABLE, "cannot start the stream thread");
    else hub_running = 1;
  }
  if (rc != LP_OK) {
    pthread_mutex_unlock(&hub_mu);
    pthread_mutex_destroy(&s->mu);
    lp_buf_release(&s->out);
    free(s);
    return rc;
  }
  s->next = streams;
  streams = s;
  nstreams++;
  pthread_mutex_unlock(&hub_mu);
  lp_reply_header(r, "Cache-Control", "no-store");
  lp_reply_header(r, "X-Accel-Buffering", "no");
  return lp_reply_stream(r, 200, "text/event-stream; charset=utf-8", sse_fill, s, sse_free);
}

void http_streams_stop(void) {
  pthread_mutex_lock(&hub_mu);
  hub_stopping = 1;
  int running = hub_running;
  pthread_mutex_unlock(&hub_mu);
  if (!running) return;
  lp_store_commit_wait(0, 0);
  pthread_join(hub_th, NULL);   /* its last round ends every stream */
  pthread_mutex_lock(&hub_mu);
  hub_running = 0;
  pthread_mutex_unlock(&hub_mu);
}
