/* metrics.c — what the server counts: requests by route and status class, their durations as a
 * histogram, error answers by contract code, requests in flight, and the store's commits; all
 * lock-free counters, read out as Prometheus text for GET /metrics. */
#include <stdatomic.h>
#include <string.h>
#include "http/internal.h"

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof buckets / sizeof *buckets)
typedef struct {
  atomic_ullong count[6];            /* by status class 1xx..5xx (index 1..5) */
  atomic_ullong bucket[NBUCKETS + 1];
  atomic_ullong sum_us;
} route_stats;
static route_stats stats[MAX_ROUTES + 2];  /* + static assets + unmatched */
static atomic_ullong errors_by_code[LP_CODE_COUNT];
static atomic_int in_flight;

const char *http_route_label(int i) {
  if (i >= 0 && i < lp_routes_count) return lp_routes[i].name;
  return i == ROUTE_STATIC ? "static" : "unmatched";
}

void http_metrics_request(int ri, int status, double dt) {
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  atomic_fetch_add(&stats[ri].count[cls], 1);
  size_t k = 0;
  while (k < NBUCKETS && dt > buckets[k]) k++;
  atomic_fetch_add(&stats[ri].bucket[k], 1);
  atomic_fetch_add(&stats[ri].sum_us, (unsigned long long)(dt * 1e6));
}

void http_metrics_error(lp_code c) {
  if (c < LP_CODE_COUNT) atomic_fetch_add(&errors_by_code[c], 1);
}

void http_metrics_in_flight(int delta) { atomic_fetch_add(&in_flight, delta); }
int http_in_flight(void) { return atomic_load(&in_flight); }

char *lp_http_metrics(lp_store *store) {
  lp_buf b = LP_BUF_INIT(8 << 20);
  lp_store_stats st;
  lp_store_get_stats(store, &st);
  lp_buf_printf(&b, "# HELP leadpath_store_commits_total Write transactions committed (each one fsync).\n"
                    "# TYPE leadpath_store_commits_total counter\nleadpath_store_commits_total %llu\n"
                    "# HELP leadpath_store_writes_total Writes carried by those commits (group commit).\n"
                    "# TYPE leadpath_store_writes_total counter\nleadpath_store_writes_total %llu\n"
                    "# HELP leadpath_store_commit_seconds_total Time spent committing.\n"
                    "# TYPE leadpath_store_commit_seconds_total counter\nleadpath_store_commit_seconds_total %.6f\n"
                    "# HELP leadpath_store_commit_failures_total Commits that failed.\n"
                    "# TYPE leadpath_store_commit_failures_total counter\nleadpath_store_commit_failures_total %llu\n",
                st.commits, st.writes, st.commit_us / 1e6, st.failed);
  lp_buf_puts(&b, "# HELP leadpath_http_requests_total HTTP requests by route and status class.\n"
                  "# TYPE leadpath_http_requests_total counter\n");
  for (int i = 0; i < MAX_ROUTES + 2; i++) {
    if (i >= lp_routes_count && i < MAX_ROUTES) continue;
    for (int c = 1; c <= 5; c++) {
      unsigned long long n = atomic_load(&stats[i].count[c]);
      if (n) lp_buf_printf(&b, "leadpath_http_requests_total{route=\"%s\",status=\"%dxx\"} %llu\n", http_route_label(i), c, n);
    }
  }
  lp_buf_puts(&b, "# HELP leadpath_http_request_duration_seconds Time to answer, by route.\n"
                  "# TYPE leadpath_http_request_duration_seconds histogram\n");
  for (int i = 0; i < MAX_ROUTES + 2; i++) {
    if (i >= lp_routes_count && i < MAX_ROUTES) continue;
    unsigned long long total = 0;
    for (int c = 1; c <= 5; c++) total += atomic_load(&stats[i].count[c]);
    if (!total) continue;
    unsigned long long cum = 0;
    for (size_t k = 0; k < NBUCKETS; k++) {
      cum += atomic_load(&stats[i].bucket[k]);
      lp_buf_printf(&b, "leadpath_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", http_route_label(i), buckets[k], cum);
    }
    lp_buf_printf(&b, "leadpath_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", http_route_label(i), total);
    lp_buf_printf(&b, "leadpath_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", http_route_label(i), atomic_load(&stats[i].sum_us) / 1e6);
    lp_buf_printf(&b, "leadpath_http_request_duration_seconds_count{route=\"%s\"} %llu\n", http_route_label(i), total);
  }
  lp_buf_puts(&b, "# HELP leadpath_http_errors_total Error answers by contract code.\n# TYPE leadpath_http_errors_total counter\n");
  for (int c = 1; c < LP_CODE_COUNT; c++) {
    /* Codes that share a contract name (405 is bad_request) are one series. */
    int first = 1;
    for (int d = 1; d < c; d++) if (!strcmp(lp_code_name((lp_code)d), lp_code_name((lp_code)c))) first = 0;
    if (!first) continue;
    unsigned long long n = 0;
    for (int d = c; d < LP_CODE_COUNT; d++)
      if (!strcmp(lp_code_name((lp_code)d), lp_code_name((lp_code)c))) n += atomic_load(&errors_by_code[d]);
    lp_buf_printf(&b, "leadpath_http_errors_total{code=\"%s\"} %llu\n", lp_code_name((lp_code)c), n);
  }
  lp_buf_printf(&b, "# HELP leadpath_http_in_flight Requests being answered now.\n# TYPE leadpath_http_in_flight gauge\n"
                    "leadpath_http_in_flight %d\n", atomic_load(&in_flight));
  return lp_buf_detach(&b);
}
