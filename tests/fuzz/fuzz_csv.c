/* fuzz_csv — the CSV reader behind imports (API and CLI): any bytes are read record by record to
 * the end, each field a NUL-terminated string; a record written back (lp_csv_field, as exports do)
 * and read again is the same, but for the apostrophe that defuses spreadsheet formulas. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/csv.h"

/* The streaming scanner an upload is checked with must agree with the reader: fed the bytes in
 * pieces of any size, it counts as many records as lp_csv_next reads and ends each piece at a
 * record boundary the reader also stops at. */
static void scan_agrees(const uint8_t *data, size_t size) {
  if (memchr(data, 0, size)) return;  /* binary: the scanner refuses it; the reader's strings stop at NUL */
  lp_csv_scan sc = LP_CSV_SCAN_INIT;
  size_t piece = size ? 1 + data[0] % 17 : 1, off = 0;
  while (off < size) {
    size_t n = size - off < piece ? size - off : piece;
    size_t ended = lp_csv_scan_feed(&sc, (const char *)data + off, n);
    if (ended > n) abort();
    off += n;
  }
  int end = lp_csv_scan_end(&sc);
  if (sc.bad_at >= 0) return;  /* not UTF-8: refused before reading */
  lp_csv c;
  lp_csv_init(&c, (const char *)data, size);
  char **f = NULL;
  int n, records = 0, malformed = 0;
  while ((n = lp_csv_next(&c, &f)) != 0) {
    if (n < 0) { malformed = 1; break; }
    records++;
    lp_csv_fields_free(f, n);
    f = NULL;
  }
  if (end < 0 && !malformed) abort();  /* an unclosed quote is one for both */
  if (end == 0 && !malformed && (long long)records != sc.records) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  scan_agrees(data, size);
  lp_csv c;
  lp_csv_init(&c, (const char *)data, size);
  char **f = NULL;
  int n;
  int records = 0;
  while ((n = lp_csv_next(&c, &f)) > 0 && records < 10000) {
    records++;
    /* round trip: write the record's fields as CSV, read it back, compare */
    lp_buf b = LP_BUF_INIT(1 << 22);
    for (int i = 0; i < n; i++) lp_csv_field(&b, f[i], i == 0);
    lp_buf_add(&b, "\n", 1);
    /* one empty field writes as an empty line, which readers (ours too) skip: nothing to compare */
    /* nor a first field that starts with a byte order mark, which a reader drops at the start */
    if (!b.overflow && !(n == 1 && !f[0][0]) && strncmp(f[0], "\xef\xbb\xbf", 3) != 0) {
      lp_csv c2;
      lp_csv_init(&c2, lp_buf_str(&b), b.len);
      char **g = NULL;
      int m = lp_csv_next(&c2, &g);
      if (m != n) abort();
      for (int i = 0; i < n; i++) {
        /* a cell that a spreadsheet would run as a formula is written with an apostrophe first */
        int formula = strchr("=+-@", f[i][0]) && f[i][0];
        if (formula ? (g[i][0] != '\'' || strcmp(f[i], g[i] + 1) != 0) : strcmp(f[i], g[i]) != 0) abort();
      }
      lp_csv_fields_free(g, m);
    }
    lp_buf_release(&b);
    lp_csv_fields_free(f, n);
    f = NULL;
  }
  return 0;
}
