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
  c->first_line = c->line;
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

/* ---- scanning in pieces. The states mirror lp_csv_next: between records (blank lines are
 * skipped there), at the start of a field, inside an unquoted field, inside a quoted one, and
 * just after a quote inside a quoted one (a second quote is an escaped quote, a comma or line
 * break ends the field, anything else ends the record as lp_csv_next does and starts the next). */
enum { SC_BETWEEN, SC_FIELD, SC_PLAIN, SC_QUOTED, SC_QUOTE };

static void scan_utf8(lp_csv_scan *s, unsigned char ch, long long at) {
  if (s->bad_at >= 0) return;
  int bad = 0;
  if (s->utf8_need) {
    if (ch < s->utf8_lo || ch > s->utf8_hi) bad = 1;
    else { s->utf8_need--; s->utf8_lo = 0x80; s->utf8_hi = 0xbf; }
  } else if (ch == 0) {
    bad = 1;
    s->binary = 1;
  } else if (ch >= 0x80) {
    if (ch >= 0xc2 && ch <= 0xdf) s->utf8_need = 1;
    else if (ch >= 0xe0 && ch <= 0xef) { s->utf8_need = 2; if (ch == 0xe0) s->utf8_lo = 0xa0; if (ch == 0xed) s->utf8_hi = 0x9f; }
    else if (ch >= 0xf0 && ch <= 0xf4) { s->utf8_need = 3; if (ch == 0xf0) s->utf8_lo = 0x90; if (ch == 0xf4) s->utf8_hi = 0x8f; }
    else bad = 1;
  }
  if (bad) { s->bad_at = at; s->bad_line = s->lines + 1; }
}

size_t lp_csv_scan_feed(lp_csv_scan *s, const char *p, size_t n) {
  size_t complete = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    scan_utf8(s, (unsigned char)c, s->bytes + (long long)i);
    if (c == '\n') s->lines++;
    /* a byte order mark at the very start is not data (lp_csv_init skips it too) */
    long long at = s->bytes + (long long)i;
    if (at < 3 && s->state == SC_BETWEEN && (unsigned char)c == (unsigned char)"\xef\xbb\xbf"[at]) continue;
    switch (s->state) {
      case SC_BETWEEN:
        if (c == '\n' || c == '\r') { complete = i + 1; break; }
        s->state = SC_FIELD;  /* a record starts here */
        __attribute__((fallthrough));
      case SC_FIELD:
        if (c == '"') s->state = SC_QUOTED;
        else if (c == ',') s->state = SC_FIELD;
        else if (c == '\n' || c == '\r') { s->records++; s->state = SC_BETWEEN; complete = i + 1; }
        else s->state = SC_PLAIN;
        break;
      case SC_PLAIN:
        if (c == ',') s->state = SC_FIELD;
        else if (c == '\n' || c == '\r') { s->records++; s->state = SC_BETWEEN; complete = i + 1; }
        break;
      case SC_QUOTED:
        if (c == '"') s->state = SC_QUOTE;
        break;
      case SC_QUOTE:
        if (c == '"') s->state = SC_QUOTED;
        else if (c == ',') s->state = SC_FIELD;
        else if (c == '\n' || c == '\r') { s->records++; s->state = SC_BETWEEN; complete = i + 1; }
        else { s->records++; complete = i; s->state = SC_PLAIN; }  /* lp_csv_next ends the record here */
        break;
    }
  }
  s->bytes += (long long)n;
  return complete;
}

int lp_csv_scan_end(lp_csv_scan *s) {
  if (s->state == SC_QUOTED) return -1;
  if (s->state != SC_BETWEEN) s->records++;
  s->state = SC_BETWEEN;
  if (s->utf8_need && s->bad_at < 0) { s->bad_at = s->bytes; s->bad_line = s->lines + 1; }
  return 0;
}
