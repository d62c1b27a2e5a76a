/* fuzz_csv — the CSV reader behind imports (API and CLI): any bytes are read record by record to
 * the end, each field a NUL-terminated string; a record written back (lp_csv_field, as exports do)
 * and read again is the same, but for the apostrophe that defuses spreadsheet formulas. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
