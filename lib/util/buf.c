/* buf.c — the growable capped buffer (see buf.h). */
#include <stdarg.h>
#include "util/buf.h"

static int grow(lp_buf *b, size_t extra) {
  if (b->len + extra + 1 > b->cap) { b->overflow = 1; return -1; }
  if (b->len + extra + 1 <= b->alloc) return 0;
  size_t n = b->alloc ? b->alloc : 64;
  while (n < b->len + extra + 1) n *= 2;
  if (n > b->cap) n = b->cap;
  char *p = realloc(b->data, n);
  if (!p) { b->overflow = 1; return -1; }
  b->data = p;
  b->alloc = n;
  return 0;
}

int lp_buf_reserve(lp_buf *b, size_t n) {
  int was = b->overflow;
  if (grow(b, n)) { b->overflow = was; return -1; }  /* asking for room is not an overflow */
  if (b->data) b->data[b->len] = 0;
  return 0;
}

int lp__buf_add_slow(lp_buf *b, const void *p, size_t n) {
  if (grow(b, n)) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return 0;
}


int lp_buf_printf(lp_buf *b, const char *fmt, ...) {
  /* Print into the room there is; only when it does not fit, grow and print again. */
  size_t room = b->alloc > b->len ? b->alloc - b->len : 0;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if ((size_t)n < room) { b->len += (size_t)n; return 0; }
  if (grow(b, (size_t)n)) {
    if (b->data) b->data[b->len] = 0;  /* undo the partial print */
    return -1;
  }
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

const char *lp_buf_str(const lp_buf *b) { return b->data ? b->data : ""; }

char *lp_buf_detach(lp_buf *b) {
  char *p = b->data ? b->data : strdup("");
  b->data = NULL;
  b->len = b->alloc = 0;
  b->overflow = 0;
  return p;
}

void lp_buf_reset(lp_buf *b) {
  b->len = 0;
  b->overflow = 0;
  if (b->data) b->data[0] = 0;
}

void lp_buf_release(lp_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->alloc = 0;
  b->overflow = 0;
}
