/* assets.h — the web UI files embedded by scripts/embed.py (generated webassets.c). */
#ifndef LP_HTTP_ASSETS_H
#define LP_HTTP_ASSETS_H
#include <stddef.h>
typedef struct lp_asset {
  const char *path;          /* URL path, "/index.html" */
  const char *content_type;
  const char *etag;          /* strong ETag, quoted */
  const unsigned char *data;
  size_t len;
  const unsigned char *gz;   /* gzip-compressed copy */
  size_t gz_len;
} lp_asset;
extern const lp_asset lp_assets[];     /* sorted by path, ends with a NULL path */
extern const size_t lp_assets_count;
#endif
