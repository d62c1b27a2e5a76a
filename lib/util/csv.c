/* csv.c — RFC 4180 CSV reading and writing (see csv.h). */
#include "util/csv.h"

void lp_csv_init(lp_csv *c, const char *data, size_t len) {
  c->p = data;
  c->end = data + len;
  c->line = 0;
  /* A UTF-8 byte order mark is not data. */
  if (len >= 3 && (unsigned char)data[0] == 0xef && (unsigned char)data[1] == 0xbb && (unsigned char)data[2] == 0xbf) c->p += 3;
}

void lp_csv_fields_free(char **fields, int n) {
  for (int i = 0; i < n; i++) free(fields[i]);
  free(fields);
}

int lp_csv_next(lp_csv *c, char ***out) {
  *out = NULL;
  /* Skip empty lines. */
  while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) { if (*c->p == '\n') c->line++; c->p++; }
  if (c->p >= c->end) return 0;
  c->line++;
  int n = 0, cap = 16;
  char **f = malloc(sizeof *f * (size_t)cap);
  lp_buf cell = LP_BUF_INIT(1 << 20);
  for (;;) {
    lp_buf_reset(&cell);
    lp_buf_add(&cell, "", 0);
    if (c->p < c->end && *c->p == '"') {
      c->p++;
      for (;;) {
        if (c->p >= c->end) { lp_buf_release(&cell); lp_csv_fields_free(f, n); return -1; }
        if (*c->p == '"') {
          if (c->p + 1 < c->end && c->p[1] == '"') { lp_buf_add(&cell, "\"", 1); c->p += 2; continue; }
          c->p++;
          break;
        }
        if (*c->p == '\n') c->line++;
        lp_buf_add(&cell, c->p, 1);
        c->p++;
      }
    } else {
      const char *s = c->p;
      while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') c->p++;
      lp_buf_add(&cell, s, (size_t)(c->p - s));
    }
    if (n == cap) { cap *= 2; f = realloc(f, sizeof *f * (size_t)cap); }
    f[n++] = strdup(lp_buf_str(&cell));
    if (c->p < c->end && *c->p == ',') { c->p++; continue; }
    if (c->p < c->end && *c->p == '\r') c->p++;
    if (c->p < c->end && *c->p == '\n') c->p++;
    break;
  }
  lp_buf_release(&cell);
  *out = f;
  return n;
}

void lp_csv_field(lp_buf *b, const char *s, int first) {
  if (!first) lp_buf_add(b, ",", 1);
  if (!s) return;
  int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
  int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
  if (!quote) { lp_buf_puts(b, s); return; }
  lp_buf_add(b, "\"", 1);
  if (formula) lp_buf_add(b, "'", 1);
  for (const char *p = s; *p; p++) {
    if (*p == '"') lp_buf_add(b, "\"\"", 2);
    else lp_buf_add(b, p, 1);
  }
  lp_buf_add(b, "\"", 1);
}
