/* hello.c — the bare libmicrohttpd baseline for the leadpath benchmarks.
 *
 *   hello PORT [THREADS]
 *
 * Same daemon set-up as src/http/server.c (MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC, a
 * thread pool, the same connection limit, timeout and backlog), listening on 127.0.0.1 only,
 * answering every request with a fixed 13-byte text body. bench/run.sh passes THREADS: the pool
 * size leadpath itself logged, so both run the same number of threads. Without it: 4 per core;
 * either way clamped to 8..256 like leadpath. SIGTERM/SIGINT stop it.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char body[] = "Hello, world!";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)cls; (void)url; (void)method; (void)version; (void)upload;
  if (!*con_cls) { *con_cls = (void *)1; return MHD_YES; }  /* first call: headers only */
  if (*upload_size) { *upload_size = 0; return MHD_YES; }   /* discard any body */
  struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", "text/plain");
  enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
  MHD_destroy_response(resp);
  return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls; (void)conn; (void)toe;
  *con_cls = NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: hello PORT [THREADS]\n"); return 2; }
  int port = atoi(argv[1]);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  /* leadpath's clamp (src/app/serve.c): given > 0, else a default per core; then 8..256. */
  int given = argc > 2 ? atoi(argv[2]) : 0;
  int threads = given > 0 ? given : (int)(cores > 0 ? cores * 4 : 8);
  if (threads < 8) threads = 8;
  if (threads > 256) threads = 256;
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, on_request, NULL,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
  if (!d) { fprintf(stderr, "hello: cannot listen on 127.0.0.1:%d\n", port); return 1; }
  fprintf(stderr, "hello: listening on 127.0.0.1:%d with %d threads\n", port, threads);
  int sig = 0;
  sigwait(&set, &sig);
  MHD_stop_daemon(d);
  return 0;
}
