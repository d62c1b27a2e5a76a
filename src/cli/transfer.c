/* transfer.c — `leadpath export` and `leadpath import`: every lead out as CSV or JSON, and
 * leads in from CSV through the same rules as the API (validation, normalisation, timeline). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "app/clock.h"
#include "cli/cli.h"
#include "core/leadcsv.h"
#include "core/record.h"
#include "store/exportnames.h"
#include "store/leads.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/csv.h"

typedef struct { const char *cursor; } page_params;

static const char *page_get(void *ctx, const char *name) {
  page_params *p = ctx;
  if (!strcmp(name, "status")) return "all";
  if (!strcmp(name, "owner")) return "any";
  if (!strcmp(name, "sort")) return "id";  /* the primary key's order: each page a short range */
  if (!strcmp(name, "limit")) return "500";
  if (!strcmp(name, "cursor")) return p->cursor;
  return NULL;
}

int cmd_export(lp_opts *o) {
  const char *fmt = o->format ? o->format : "csv";
  if (strcmp(fmt, "csv") && strcmp(fmt, "json")) { fprintf(stderr, "leadpath: --format is csv or json\n"); return 2; }
  lp_store *s = lp_cli_open(o);
  if (!s) return 1;
  lp_err err = LP_ERR_INIT;
  lp_db *db = lp_store_reader(s, &err);
  lp_actor all = {0};
  lp_actor_set_policy(&all, "admin", NULL);
  /* Owners travel by email, so an export imports into a database with other user ids; names
   * stand beside the ids for people reading the file. */
  json_t *names = db ? lp_export_names(db, &err) : NULL;
  if (!names) names = json_object();
  char *cursor = NULL;
  long count = 0;
  int csv = !strcmp(fmt, "csv");
  if (csv) { lp_buf h = LP_BUF_INIT(1 << 16); lp_lead_csv_header(&h); fputs(lp_buf_str(&h), stdout); lp_buf_release(&h); }
  else fputs("[", stdout);
  int rc = 0;
  for (;;) {
    page_params pp = {cursor};
    json_t *page = db ? lp_lead_list(db, &all, page_get, &pp, lp_clock_now(), &err) : NULL;
    if (!page) { fprintf(stderr, "leadpath: export failed: %s\n", err.message); rc = 1; break; }
    size_t i;
    json_t *lead;
    json_array_foreach(json_object_get(page, "items"), i, lead) {
      lp_export_names_add(names, lead);
      if (csv) {
        lp_buf b = LP_BUF_INIT(1 << 22);
        lp_lead_csv_row(&b, lead);
        fputs(lp_buf_str(&b), stdout);
        lp_buf_release(&b);
      } else {
        char *t = json_dumps(lead, JSON_COMPACT);
        printf("%s\n%s", count ? "," : "", t);
        free(t);
      }
      count++;
    }
    free(cursor);
    cursor = json_is_string(json_object_get(page, "next_cursor")) ? strdup(json_string_value(json_object_get(page, "next_cursor"))) : NULL;
    json_decref(page);
    if (!cursor) break;
  }
  json_decref(names);
  if (!csv) fputs("\n]\n", stdout);
  fflush(stdout);
  fprintf(stderr, "exported %ld leads\n", count);
  lp_err_release(&err);
  lp_store_close(s);
  return rc;
}

/* Import: records are shared out to a few threads so their writes commit together. */
typedef struct {
  lp_store *s;
  lp_actor admin;
  char **header;
  int nheader;
  char ***rows;
  int *ncells, *lines;
  int nrows, next, ok, failed;
  pthread_mutex_t mu;
} import_ctx;

static void report(import_ctx *c, int i, lp_err *err) {
  fprintf(stderr, "line %d: %s", c->lines[i], err->message);
  const char *k;
  json_t *v;
  if (err->fields) json_object_foreach(err->fields, k, v) fprintf(stderr, "; %s: %s", k, json_string_value(v));
  fprintf(stderr, "\n");
}

/* Each worker takes the next CHUNK records, checks them, and creates those that pass together
 * (lp_lead_create_many: one COPY transaction on PostgreSQL). */
#define CHUNK 500

static void *import_worker(void *p) {
  import_ctx *c = p;
  json_t *in[CHUNK];
  lp_err errs[CHUNK];
  int64_t ids[CHUNK];
  int at[CHUNK];
  for (;;) {
    pthread_mutex_lock(&c->mu);
    int first = c->next;
    c->next += CHUNK;
    pthread_mutex_unlock(&c->mu);
    if (first >= c->nrows) break;
    int last = first + CHUNK < c->nrows ? first + CHUNK : c->nrows, n = 0, bad = 0;
    for (int i = first; i < last; i++) {
      lp_err err = LP_ERR_INIT;
      int cells = c->ncells[i] < c->nheader ? c->ncells[i] : c->nheader;
      json_t *row = lp_lead_csv_input(c->header, c->rows[i], cells);
      json_t *cols = NULL;
      const char *oe = json_string_value(json_object_get(row, "owner_email"));
      if (oe) {
        lp_db *db = lp_store_reader(c->s, &err);
        int64_t uid = db ? lp_user_id_by_email(db, oe, &err) : 0;
        if (uid) json_object_set_new(row, "owner_id", json_integer(uid));
        else lp_fail_field(&err, "owner_email", "no user with that email");
      }
      if (err.code == LP_OK && lp_rec_input(&lp_rt_lead, row, 1, 1, NULL, &cols, &err) == LP_OK) {
        in[n] = cols;
        errs[n] = (lp_err)LP_ERR_INIT;
        at[n++] = i;
      } else {
        json_decref(cols);
        pthread_mutex_lock(&c->mu);
        report(c, i, &err);
        pthread_mutex_unlock(&c->mu);
        bad++;
      }
      json_decref(row);
      lp_err_release(&err);
    }
    int made = n ? lp_lead_create_many(c->s, &c->admin, in, n, lp_clock_now(), errs, ids) : 0;
    pthread_mutex_lock(&c->mu);
    c->ok += made;
    c->failed += bad + (n - made);
    for (int j = 0; j < n; j++) if (errs[j].code != LP_OK) report(c, at[j], &errs[j]);
    pthread_mutex_unlock(&c->mu);
    for (int j = 0; j < n; j++) { json_decref(in[j]); lp_err_release(&errs[j]); }
  }
  return NULL;
}

int cmd_import(lp_opts *o) {
  if (o->nargs < 1) { fprintf(stderr, "leadpath: usage: leadpath import --db URL FILE.csv\n"); return 2; }
  FILE *f = strcmp(o->args[0], "-") ? fopen(o->args[0], "rb") : stdin;
  if (!f) { fprintf(stderr, "leadpath: cannot open %s\n", o->args[0]); return 1; }
  lp_buf data = LP_BUF_INIT((size_t)1 << 34);
  char chunk[65536];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) lp_buf_add(&data, chunk, got);
  if (f != stdin) fclose(f);
  lp_store *s = lp_cli_open(o);
  if (!s) { lp_buf_release(&data); return 1; }
  lp_err err = LP_ERR_INIT;
  lp_db *db = lp_store_reader(s, &err);
  int64_t admin = db ? lp_query_int(db, "SELECT u.id FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'admin'"
                                        " AND u.active = 1 ORDER BY u.id LIMIT 1", NULL, 0, &err) : 0;
  if (!admin) {
    fprintf(stderr, "leadpath: add an admin user first (leadpath user add --role admin); imports are recorded as theirs\n");
    lp_buf_release(&data);
    lp_store_close(s);
    return 1;
  }
  import_ctx c = {0};
  c.s = s;
  lp_actor_load(db, admin, &c.admin, &err);
  pthread_mutex_init(&c.mu, NULL);
  lp_csv csv;
  lp_csv_init(&csv, lp_buf_str(&data), data.len);
  c.nheader = lp_csv_next(&csv, &c.header);
  int rc = 0;
  if (c.nheader <= 0) { fprintf(stderr, "leadpath: %s has no header line\n", o->args[0]); rc = 1; }
  int cap = 1024;
  c.rows = malloc(sizeof *c.rows * (size_t)cap);
  c.ncells = malloc(sizeof *c.ncells * (size_t)cap);
  c.lines = malloc(sizeof *c.lines * (size_t)cap);
  while (!rc) {
    char **cells;
    int n = lp_csv_next(&csv, &cells);
    if (n == 0) break;
    if (n < 0) { fprintf(stderr, "line %d: unterminated quoted field\n", csv.line); c.failed++; break; }
    if (c.nrows == cap) {
      cap *= 2;
      c.rows = realloc(c.rows, sizeof *c.rows * (size_t)cap);
      c.ncells = realloc(c.ncells, sizeof *c.ncells * (size_t)cap);
      c.lines = realloc(c.lines, sizeof *c.lines * (size_t)cap);
    }
    c.rows[c.nrows] = cells;
    c.ncells[c.nrows] = n;
    c.lines[c.nrows++] = csv.line;
  }
  if (!rc) {
    pthread_t th[8];
    for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, import_worker, &c);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    printf("imported %d leads, %d failed\n", c.ok, c.failed);
    rc = c.failed ? 1 : 0;
  }
  for (int i = 0; i < c.nrows; i++) lp_csv_fields_free(c.rows[i], c.ncells[i]);
  if (c.nheader > 0) lp_csv_fields_free(c.header, c.nheader);
  free(c.rows);
  free(c.ncells);
  free(c.lines);
  pthread_mutex_destroy(&c.mu);
  lp_buf_release(&data);
  lp_err_release(&err);
  lp_store_close(s);
  return rc;
}
