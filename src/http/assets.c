/* assets.c — the web UI as embedded by scripts/embed.py (assets.h): a file by path (binary
 * search of the sorted table), index.html for any path without an extension (the UI's own
 * routes), gzip when the client takes it, ETag revalidation. */
#include <string.h>
#include "http/assets.h"
#include "http/internal.h"

static const lp_asset *find_asset(const char *path) {
  size_t lo = 0, hi = lp_assets_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(lp_assets[mid].path, path);
    if (!c) return &lp_assets[mid];
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return NULL;
}

enum MHD_Result http_send_asset(lp_req *r) {
  const char *path = r->url;
  const lp_asset *a = find_asset(!strcmp(path, "/") ? "/index.html" : path);
  if (!a && !strchr(strrchr(path, '/') ? strrchr(path, '/') : path, '.')) a = find_asset("/index.html");
  if (!a) {
    lp_fail(&r->err, LP_ENOTFOUND, "No such page");
    return http_send_error(r);
  }
  const char *inm = lp_req_header(r, "If-None-Match");
  int gz = 0;
  const char *ae = lp_req_header(r, "Accept-Encoding");
  if (ae && strstr(ae, "gzip") && a->gz_len < a->len) gz = 1;
  struct MHD_Response *resp;
  int status = 200;
  if (inm && !strcmp(inm, a->etag)) {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    status = 304;
  } else {
    resp = MHD_create_response_from_buffer(gz ? a->gz_len : a->len, (void *)(gz ? a->gz : a->data), MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", a->content_type);
    if (gz) MHD_add_response_header(resp, "Content-Encoding", "gzip");
  }
  MHD_add_response_header(resp, "ETag", a->etag);
  MHD_add_response_header(resp, "Vary", "Accept-Encoding");
  MHD_add_response_header(resp, "Cache-Control", strncmp(a->path, "/vendor/", 8) ? "no-cache" : "public, max-age=86400");
  http_common_headers(resp, r);
  r->status = status;
  enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return rc;
}
