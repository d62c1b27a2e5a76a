/* queues.c — the request threads.
 *
 * A request that writes waits for its group commit (a millisecond or so). On an HTTP thread
 * that wait would hold up every other connection the thread serves, and the thread pool shares
 * one listening socket, so whichever thread wakes first accepts a burst of connections: commits
 * then batch only as many writes as the threads that happen to hold connections (measured with
 * 64 connections: 2-9 writes per commit, sometimes 1-2 for a whole run at half the throughput).
 * A long read (a list page, a search) holds up the connections behind it the same way. So such
 * a request's connection is suspended, the request runs on a thread of a queue, in the order
 * requests came, and its answer is sent from the connection's own thread once it is resumed:
 * - writes: --threads threads `lp-write` (a commit carries every write waiting in them);
 * - long reads (routes flagged R_LONG in routes.c): two per core, `lp-read`. Few threads run
 *   each page to the end in turn instead of slicing the cores between dozens of half-done
 *   pages: with 64 clients in flight, list p99 12 ms instead of 30 (p90 10 instead of 17) at
 *   the same pages per second.
 * Short reads (one lead, a static file) are answered in place: the hand-over would cost more
 * than they do. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include "http/internal.h"

typedef struct rqueue {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lp_req *head, *tail;
  int stopping, n;
  pthread_t *th;
} rqueue;
static rqueue queues[2] = {
  [HTTP_WRITES] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, NULL},
  [HTTP_READS] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, NULL},
};

static void *request_thread(void *arg) {
  rqueue *q = arg;
  prctl(PR_SET_NAME, q == &queues[HTTP_WRITES] ? "lp-write" : "lp-read");  /* named in top -H and perf */
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (!q->head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
    lp_req *r = q->head;
    if (!r) break;  /* stopping, and nothing left */
    q->head = r->next_job;
    if (!q->head) q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    http_run(r);
    lp_store_release(r->app->store);  /* PostgreSQL: the connection goes back to the pool */
    r->ran = 1;
    MHD_resume_connection(r->conn);   /* MHD calls on_request again, which answers */
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

int http_queue(http_queue_kind kind, lp_req *r) {
  rqueue *q = &queues[kind];
  pthread_mutex_lock(&q->mu);
  if (q->stopping || !q->n) {
    pthread_mutex_unlock(&q->mu);
    return 0;
  }
  MHD_suspend_connection(r->conn);
  r->next_job = NULL;
  if (q->tail) q->tail->next_job = r; else q->head = r;
  q->tail = r;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  return 1;
}

static int rq_start(rqueue *q, int n) {
  q->th = calloc((size_t)n, sizeof *q->th);
  if (!q->th) return -1;
  q->stopping = 0;
  for (q->n = 0; q->n < n; q->n++)
    if (pthread_create(&q->th[q->n], NULL, request_thread, q) != 0) break;
  return q->n ? 0 : -1;
}

static void rq_stop(rqueue *q) {
  pthread_mutex_lock(&q->mu);
  q->stopping = 1;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < q->n; i++) pthread_join(q->th[i], NULL);
  free(q->th);
  q->th = NULL;
  q->n = 0;
}

int http_queues_start(int writers, int readers) {
  if (rq_start(&queues[HTTP_WRITES], writers) != 0 || rq_start(&queues[HTTP_READS], readers) != 0) {
    http_queues_stop();
    return -1;
  }
  return 0;
}

void http_queues_stop(void) {
  rq_stop(&queues[HTTP_WRITES]);
  rq_stop(&queues[HTTP_READS]);
}
