/* buf.h — one growable, capped, always NUL-terminated byte buffer.
 *
 *   lp_buf b = LP_BUF_INIT(1 << 20);   // cap at 1 MiB
 *   lp_buf_puts(&b, "x"); lp_buf_printf(&b, "%d", 3);
 *   if (b.overflow) ...                  // a write past the cap was refused, data stays valid
 *   lp_buf_release(&b);
 * `data` is never NULL after the first write; lp_buf_str() gives "" for an empty buffer.
 */
#ifndef LP_BUF_H
#define LP_BUF_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef struct lp_buf {
  char *data;
  size_t len, alloc, cap;
  int overflow;   /* set once any append would have passed cap */
} lp_buf;
#define LP_BUF_INIT(capacity) {NULL, 0, 0, (capacity), 0}
int lp__buf_add_slow(lp_buf *b, const void *p, size_t n);
/* 0, or -1 (cap or out of memory). Inline: appends that fit (most of them) cost a memcpy. */
static inline int lp_buf_add(lp_buf *b, const void *p, size_t n) {
  if (b->len + n < b->alloc) {
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
  }
  return lp__buf_add_slow(b, p, n);
}
static inline int lp_buf_puts(lp_buf *b, const char *s) { return lp_buf_add(b, s, strlen(s)); }
int lp_buf_printf(lp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes up front (within the cap), so the appends after it stay cheap. */
int lp_buf_reserve(lp_buf *b, size_t n);
const char *lp_buf_str(const lp_buf *b);
char *lp_buf_detach(lp_buf *b);   /* caller frees; buffer is reset */
void lp_buf_reset(lp_buf *b);     /* length 0, memory kept */
void lp_buf_release(lp_buf *b);
#endif
