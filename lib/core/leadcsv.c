/* leadcsv.c — leads to and from CSV (see leadcsv.h), driven by the lead's field table.
 *
 * Phones are written as RFC 3966 tel: URIs ("tel:+44-7700-900123"): a cell starting with "+" is
 * read as a formula by spreadsheets (or as a number that loses its "+"), and the formula guard's
 * apostrophe ("'+447700900123") shows as part of the number. A tel: URI is text in every
 * spreadsheet, a standard way to write a phone, and reads back here (the "tel:" and the dashes
 * dropped, then normalised as any phone). Names stand beside the ids (NAME_COLS); the import
 * ignores them. */
#include <ctype.h>
#include <strings.h>
#include "core/leadcsv.h"
#include "core/record.h"
#include "util/csv.h"
#include "util/valid.h"

/* Columns after the fields, in this order: what an export adds for reading (the caller sets them
 * on the lead, e.g. store/exportnames.c). groups and owner_email are read back by the import. */
static const char *const EXTRA_COLS[] = {"groups", "owner_email", "owner_name", "stage_name", "source_name",
                                         "location_name", "partner_name", "lost_reason_name", NULL};

static int exported(const lp_field *f) { return !(f->flags & FF_HIDDEN) && strcmp(f->name, "version"); }

void lp_lead_csv_header(lp_buf *b) {
  lp_csv_field(b, "id", 1);
  for (const lp_field *f = lp_rt_lead.fields; f->name; f++) if (exported(f)) lp_csv_field(b, f->name, 0);
  for (int i = 0; EXTRA_COLS[i]; i++) lp_csv_field(b, EXTRA_COLS[i], 0);
  lp_buf_puts(b, "\r\n");
}

/* A phone list as tel: URIs joined with "; " (a value that is not a number is kept as stored). */
static void phones_cell(lp_buf *b, json_t *v) {
  lp_buf joined = LP_BUF_INIT(1 << 16);
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    const char *p = json_string_value(e);
    if (!p) continue;
    if (i) lp_buf_puts(&joined, "; ");
    char shown[LP_PHONE_SHOWSZ];
    if (lp_phone_format(p, shown, sizeof shown) != 0) { lp_buf_puts(&joined, p); continue; }
    /* "+44 7700 900123" -> "tel:+44-7700-900123": separators become single dashes */
    lp_buf_puts(&joined, "tel:");
    int sep = 0;
    for (const char *c = shown; *c; c++) {
      if (isdigit((unsigned char)*c) || *c == '+') {
        if (sep) lp_buf_add(&joined, "-", 1);
        lp_buf_add(&joined, c, 1);
        sep = 0;
      } else if (c != shown) sep = 1;
    }
  }
  lp_csv_field(b, lp_buf_str(&joined), 0);
  lp_buf_release(&joined);
}

static void cell(lp_buf *b, json_t *v) {
  char num[32];
  if (!v || json_is_null(v)) { lp_csv_field(b, NULL, 0); return; }
  if (json_is_string(v)) { lp_csv_field(b, json_string_value(v), 0); return; }
  if (json_is_integer(v)) { snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)); lp_csv_field(b, num, 0); return; }
  if (json_is_boolean(v)) { lp_csv_field(b, json_is_true(v) ? "true" : "false", 0); return; }
  if (json_is_array(v)) {
    lp_buf joined = LP_BUF_INIT(1 << 16);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (i) lp_buf_puts(&joined, "; ");
      if (json_is_string(e)) lp_buf_puts(&joined, json_string_value(e));
      else if (json_is_integer(e)) lp_buf_printf(&joined, "%lld", (long long)json_integer_value(e));
    }
    lp_csv_field(b, lp_buf_str(&joined), 0);
    lp_buf_release(&joined);
    return;
  }
  lp_csv_field(b, NULL, 0);
}

void lp_lead_csv_row(lp_buf *b, json_t *lead) {
  char id[32];
  snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(lead, "id")));
  lp_csv_field(b, id, 1);
  for (const lp_field *f = lp_rt_lead.fields; f->name; f++) {
    if (!exported(f)) continue;
    json_t *v = json_object_get(lead, f->name);
    if (f->type == FT_PHONES && json_is_array(v)) phones_cell(b, v);
    else cell(b, v);
  }
  for (int i = 0; EXTRA_COLS[i]; i++) cell(b, json_object_get(lead, EXTRA_COLS[i]));
  lp_buf_puts(b, "\r\n");
}

static char *trim(char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
  /* Undo the export's formula guard. */
  if (s[0] == '\'' && (s[1] == '=' || s[1] == '+' || s[1] == '-' || s[1] == '@')) s++;
  return s;
}

json_t *lp_lead_csv_input(char **header, char **cells, int n) {
  json_t *o = json_object();
  for (int i = 0; i < n; i++) {
    if (!header[i]) continue;
    if (!strcmp(header[i], "owner_email")) {
      char *v = trim(cells[i]);
      if (*v) json_object_set_new(o, "owner_email", json_string(v));
      continue;
    }
    const lp_field *f = lp_rec_field(&lp_rt_lead, header[i]);
    if (!f) continue;
    char *v = trim(cells[i]);
    if (!*v) continue;
    json_t *jv = NULL;
    switch (f->type) {
      case FT_EMAILS: case FT_PHONES: {
        jv = json_array();
        char *save = NULL;
        for (char *tok = strtok_r(v, ";,", &save); tok; tok = strtok_r(NULL, ";,", &save)) {
          char *t = trim(tok);
          if (f->type == FT_PHONES && !strncasecmp(t, "tel:", 4)) t = trim(t + 4);  /* an export's tel: URI */
          if (*t) json_array_append_new(jv, json_string(t));
        }
        break;
      }
      case FT_BOOL: {
        char l[8] = {0};
        for (int k = 0; k < 7 && v[k]; k++) l[k] = (char)tolower((unsigned char)v[k]);
        if (!strcmp(l, "true") || !strcmp(l, "yes") || !strcmp(l, "1")) jv = json_true();
        else if (!strcmp(l, "false") || !strcmp(l, "no") || !strcmp(l, "0")) jv = json_false();
        else jv = json_string(v);  /* lp_rec_input names it invalid */
        break;
      }
      case FT_INT: case FT_REF: {
        char *end;
        long long x = strtoll(v, &end, 10);
        jv = *end ? json_string(v) : json_integer(x);
        break;
      }
      default: jv = json_string(v);
    }
    if (jv) json_object_set_new(o, f->name, jv);
  }
  return o;
}
