/* csv.h — RFC 4180 CSV: reading records one at a time from a buffer, and writing fields. */
#ifndef LP_CSV_H
#define LP_CSV_H
#include <stddef.h>
#include "util/buf.h"

typedef struct lp_csv {
  const char *p, *end;
  int line;          /* line number of the record last read (1-based) */
  int first_line;    /* the line the record last read starts on (its first line when it spans several) */
} lp_csv;
void lp_csv_init(lp_csv *c, const char *data, size_t len);
/* Reads the next record into fields (each a new string, caller frees with lp_csv_fields_free).
 * Returns the number of fields, 0 at the end, -1 on a malformed record (unterminated quote). */
int lp_csv_next(lp_csv *c, char ***fields);
void lp_csv_fields_free(char **fields, int n);
/* Appends one field, quoted when it needs to be. Cells starting with = + - @ are prefixed with
 * an apostrophe so spreadsheets do not run them as formulas. */
void lp_csv_field(lp_buf *b, const char *s, int first);

/* Reading a file that arrives (or is read) in pieces, without holding it: lp_csv_scan follows
 * the records as lp_csv_next would read them, piece by piece, and checks the text. Counts the
 * records (the header included; blank lines are not records), finds NUL bytes (binary data) and
 * bytes that are not UTF-8, and says where the last complete record ends, so a reader can hand
 * lp_csv_next whole records only. State is plain data: zero it (LP_CSV_SCAN_INIT) to start. */
typedef struct lp_csv_scan {
  int state;              /* where in a record the bytes so far end (csv.c) */
  int utf8_need;          /* continuation bytes still due */
  unsigned char utf8_lo, utf8_hi;  /* the range the next continuation byte must be in */
  long long records;      /* complete records so far */
  long long lines;        /* newlines so far */
  long long bytes;        /* bytes fed so far */
  long long bad_at;       /* offset of the first NUL or non-UTF-8 byte, -1 if none */
  long long bad_line;     /* its line (1-based) */
  int binary;             /* 1: the bad byte is a NUL (binary data), 0: not UTF-8 */
} lp_csv_scan;
#define LP_CSV_SCAN_INIT {0, 0, 0x80, 0xbf, 0, 0, 0, -1, 0, 0}
/* Feeds n bytes; answers the length of the prefix of these n bytes that ends where a complete
 * record ends (0 when none ends in them). */
size_t lp_csv_scan_feed(lp_csv_scan *s, const char *p, size_t n);
/* At the end of the data: counts a last record that has no line break after it. Answers 0, or -1
 * when the data ends inside a quoted field (a quote not closed). */
int lp_csv_scan_end(lp_csv_scan *s);
#endif
