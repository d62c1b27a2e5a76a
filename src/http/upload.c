/* upload.c — request bodies streamed to disk, for routes flagged R_UPLOAD (a CSV import of a
 * whole previous CRM: hundreds of megabytes).
 *
 * As the headers arrive (http_upload_begin, from request.c) the request is routed, authenticated
 * (and its CSRF token checked) and the route's `begin` hook runs (rights, Content-Type, query),
 * so a refused upload never takes a byte of disk: its body is read and dropped, and the error
 * answered once it is in. Otherwise a file `upload-<random>.part` is made in the spool directory
 * (lp_app.spool, mode 0600) and every piece MHD hands over is written there at once
 * (http_upload_data): the body is never held in memory, only its first LP_UPLOAD_HEAD bytes are
 * kept for the header and a preview. Each piece also goes through lp_csv_scan, which counts the
 * records and stops the upload at the first NUL byte (binary data) or byte that is not UTF-8,
 * with 422, removing the file. Past lp_app.upload_max bytes the upload answers 413.
 *
 * The handler then runs as for any request (on a request thread) and finds r->upload: it calls
 * lp_upload_keep to sync the file to disk and move it to its final name before it answers; a
 * file the handler did not keep is removed when the request ends (http_upload_end), as is the
 * file of an upload cut off by the client. A server killed mid-upload leaves a `.part` file,
 * removed by the spool's clean-up (src/http/routes/import.c) a day later. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "http/auth.h"
#include "http/internal.h"
#include "util/secret.h"

static void upload_drop(lp_upload *u) {
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  if (!u->kept && u->path[0]) unlink(u->path);
  u->path[0] = 0;
}

/* Refuses the upload: its file goes, the rest of the body is read and dropped, the error answered. */
#define UPLOAD_FAIL(r, ...) do { if ((r)->upload) upload_drop((r)->upload); lp_fail(&(r)->err, __VA_ARGS__); (r)->failed = 1; } while (0)

int http_upload_begin(lp_req *r) {
  int ri = http_route_index(r);
  if (ri < 0 || !(lp_routes[ri].flags & R_UPLOAD)) return 0;
  const lp_route *rt = &lp_routes[ri];
  http_route(r);
  r->routed = 1;
  if (r->failed) return 1;
  r->now = r->app->clock();
  const char *cl = lp_req_header(r, "Content-Length");
  int64_t max = r->app->upload_max;
  if (cl && strtoll(cl, NULL, 10) > max) {
    UPLOAD_FAIL(r, LP_ETOOLARGE, "The file is larger than %lld MiB, the largest upload this server takes", (long long)(max >> 20));
    return 1;
  }
  if (!(rt->flags & R_PUBLIC)) {
    if (lp_auth_request(r) != LP_OK) { r->failed = 1; return 1; }
    if (r->cookie_auth) {
      const char *tok = lp_req_header(r, "X-CSRF-Token");
      if (!tok || !lp_auth_csrf_ok(r, tok)) {
        lp_fail(&r->err, LP_EFORBIDDEN, "Missing or wrong X-CSRF-Token header");
        r->failed = 1;
        return 1;
      }
    }
  }
  if (rt->begin && rt->begin(r) != LP_OK) {
    if (r->err.code == LP_OK) lp_fail(&r->err, LP_EBADREQ, NULL);
    r->failed = 1;
    return 1;
  }
  lp_upload *u = calloc(1, sizeof *u);
  if (!u) { lp_fail(&r->err, LP_EINTERNAL, "out of memory"); r->failed = 1; return 1; }
  u->fd = -1;
  u->scan = (lp_csv_scan)LP_CSV_SCAN_INIT;
  u->head = (lp_buf)LP_BUF_INIT(LP_UPLOAD_HEAD);
  u->digest = malloc(sizeof(crypto_generichash_state));
  if (u->digest) crypto_generichash_init(u->digest, NULL, 0, 32);
  r->upload = u;
  const char *dir = r->app->spool;
  if (!dir || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
    UPLOAD_FAIL(r, LP_EUNAVAILABLE, "The server cannot store uploads: its spool directory cannot be made (%s)", strerror(errno));
    return 1;
  }
  char tok[LP_TOKEN_LEN];
  lp_token_new(tok);
  tok[24] = 0;
  int n = snprintf(u->path, sizeof u->path, "%s/upload-%s.part", dir, tok);
  if (n < 0 || (size_t)n >= sizeof u->path) {
    u->path[0] = 0;
    UPLOAD_FAIL(r, LP_EUNAVAILABLE, "The server cannot store uploads: the spool directory's name is too long");
    return 1;
  }
  u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (u->fd < 0) {
    u->path[0] = 0;
    UPLOAD_FAIL(r, LP_EUNAVAILABLE, "The server cannot store the upload (%s)", strerror(errno));
  }
  return 1;
}

void http_upload_data(lp_req *r, const char *data, size_t n) {
  lp_upload *u = r->upload;
  if (r->failed || !u || u->fd < 0) return;  /* refused: the rest is read and dropped */
  u->size += (int64_t)n;
  if (u->size > r->app->upload_max) {
    UPLOAD_FAIL(r, LP_ETOOLARGE, "The file is larger than %lld MiB, the largest upload this server takes",
                (long long)(r->app->upload_max >> 20));
    return;
  }
  lp_csv_scan_feed(&u->scan, data, n);
  if (u->scan.bad_at >= 0) {
    if (u->scan.binary)
      UPLOAD_FAIL(r, LP_EVALIDATION, "The file is not CSV text: it holds binary data (a NUL byte on line %lld)", u->scan.bad_line);
    else
      UPLOAD_FAIL(r, LP_EVALIDATION, "The file is not UTF-8 text (line %lld): save it as \"CSV UTF-8\" and send it again",
                  u->scan.bad_line);
    lp_fail_field(&r->err, "file", u->scan.binary ? "is binary data, not CSV text" : "is not UTF-8 text");
    return;
  }
  if (u->digest) crypto_generichash_update(u->digest, (const unsigned char *)data, n);
  if (u->head.len < LP_UPLOAD_HEAD) {
    size_t k = LP_UPLOAD_HEAD - u->head.len;
    lp_buf_add(&u->head, data, n < k ? n : k);
  }
  while (n > 0) {
    ssize_t w = write(u->fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      if (e == ENOSPC) UPLOAD_FAIL(r, LP_EUNAVAILABLE, "The server's disk is full; the upload was not kept");
      else UPLOAD_FAIL(r, LP_EUNAVAILABLE, "The server could not write the upload (%s)", strerror(e));
      return;
    }
    data += w;
    n -= (size_t)w;
  }
}

void http_upload_end(lp_req *r) {
  lp_upload *u = r->upload;
  if (!u) return;
  upload_drop(u);
  lp_buf_release(&u->head);
  free(u->digest);
  free(u);
  r->upload = NULL;
}

void http_upload_digest(lp_req *r, unsigned char out[32]) {
  memset(out, 0, 32);
  if (!r->upload || !r->upload->digest) return;
  crypto_generichash_state copy;
  memcpy(&copy, r->upload->digest, sizeof copy);
  crypto_generichash_final(&copy, out, 32);
}

lp_code lp_upload_keep(lp_req *r, const char *path) {
  lp_upload *u = r->upload;
  if (!u || u->fd < 0) return lp_fail(&r->err, LP_EINTERNAL, "no upload to keep");
  if (fdatasync(u->fd) != 0 || close(u->fd) != 0) {
    u->fd = -1;
    return lp_fail(&r->err, LP_EUNAVAILABLE, "The server could not write the upload to disk (%s)", strerror(errno));
  }
  u->fd = -1;
  if (rename(u->path, path) != 0) return lp_fail(&r->err, LP_EUNAVAILABLE, "The server could not keep the upload (%s)", strerror(errno));
  snprintf(u->path, sizeof u->path, "%s", path);
  /* the new name is on disk too: sync the directory */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { fsync(dfd); close(dfd); }
  return LP_OK;
}
