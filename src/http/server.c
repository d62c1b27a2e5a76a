/* server.c — the HTTP server's startup and shutdown (libmicrohttpd).
 *
 * One epoll thread pool (MHD-worker, --threads) serves every connection; the request threads
 * (queues.c) start before it and stop after it. On SIGTERM or SIGINT the server stops
 * accepting, lets the requests in flight finish (up to 10 seconds), then stops. How a request
 * goes through the other files: see internal.h.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "http/internal.h"

int lp_http_serve(lp_app *app, const char *listen, lp_err *err) {
  char host[128] = "127.0.0.1";
  int port = 8080;
  const char *colon = strrchr(listen, ':');
  if (colon) {
    size_t n = (size_t)(colon - listen);
    if (n >= sizeof host) return lp_fail(err, LP_EBADREQ, "bad listen address %s", listen);
    if (n) { memcpy(host, listen, n); host[n] = 0; }
    port = (int)strtol(colon + 1, NULL, 10);
  }
  if (port <= 0 || port > 65535) return lp_fail(err, LP_EBADREQ, "bad port in %s", listen);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return lp_fail(err, LP_EBADREQ, "bad IPv4 address %s", host);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* A port already served by another process is refused with a clear message (MHD's own
   * failure would only say it cannot listen). */
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  if (probe < 0) return lp_fail(err, LP_EUNAVAILABLE, "cannot open a socket");
  int one = 1;  /* SO_REUSEADDR: connections of an earlier run in TIME_WAIT do not count */
  setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int taken = bind(probe, (struct sockaddr *)&sa, sizeof sa) != 0;
  close(probe);
  if (taken) return lp_fail(err, LP_EUNAVAILABLE, "cannot listen on %s:%d: the address is in use", host, port);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (http_queues_start(app->threads, cores > 2 ? 2 * (int)cores : 4) != 0)
    return lp_fail(err, LP_EUNAVAILABLE, "cannot start the request threads");
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, http_on_request, app,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)app->threads,
      MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, app, MHD_OPTION_URI_LOG_CALLBACK, http_on_uri, app, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
  if (!d) {
    http_queues_stop();
    return lp_fail(err, LP_EUNAVAILABLE, "cannot listen on %s:%d", host, port);
  }
  fprintf(stderr, "{\"msg\":\"listening\",\"addr\":\"http://%s:%d\",\"threads\":%d}\n", host, port, app->threads);
  int sig = 0;
  sigwait(&set, &sig);
  fprintf(stderr, "{\"msg\":\"draining\",\"signal\":%d}\n", sig);
  MHD_quiesce_daemon(d);
  http_streams_stop();
  double until = http_mono() + 10;
  while (http_in_flight() > 0 && http_mono() < until) usleep(10000);
  http_queues_stop();
  MHD_stop_daemon(d);
  fprintf(stderr, "{\"msg\":\"stopped\"}\n");
  return LP_OK;
}
