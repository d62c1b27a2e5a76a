/* import.c — POST /api/v1/import/leads (text/csv, ?dry_run=1): a CSV of leads becomes a background
 * job (202 {"job_id"}; progress and the failed rows at GET /api/v1/jobs/{id}). Each row goes
 * through the same rules as POST /api/v1/leads, as the user who sent the file; rows are created
 * 500 at a time (lp_lead_create_many: one COPY on PostgreSQL). With dry_run every row is checked
 * and nothing is created. Columns are those of the export (owners may be given by owner_email).
 * Importing is a bulk action: it needs the role's `bulk` permission. */
#include "app/clock.h"
#include "core/leadcsv.h"
#include "core/record.h"
#include "http/routes/handlers.h"
#include "jobs/jobs.h"
#include "store/leads.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/csv.h"

#define CHUNK 500
#define ERRORS_KEPT 1000

lp_code h_import_leads(lp_req *r) {
  if (r->actor.perm[LP_ACT_BULK] != LP_ALLOW) return lp_fail(&r->err, LP_EFORBIDDEN, "Your role may not import leads (it needs the bulk permission)");
  const char *ct = lp_req_header(r, "Content-Type");
  if (!ct || strncasecmp(ct, "text/csv", 8) != 0) return lp_fail(&r->err, LP_EMEDIA, "Send the leads as CSV with Content-Type: text/csv");
  if (r->body.len == 0 || !memchr(r->body.data, '\n', r->body.len)) return lp_fail_field(&r->err, "file", "needs a header line and at least one row");
  /* A header with no row (blank lines do not count) starts no job. */
  lp_csv csv;
  lp_csv_init(&csv, r->body.data, r->body.len);
  char **fields = NULL;
  int n = lp_csv_next(&csv, &fields);
  lp_csv_fields_free(fields, n > 0 ? n : 0);
  if (n > 0) {
    n = lp_csv_next(&csv, &fields);
    lp_csv_fields_free(fields, n > 0 ? n : 0);
  }
  if (n < 0) return lp_fail_field(&r->err, "file", "is not valid CSV (a quote is not closed)");
  if (n == 0) return lp_fail_field(&r->err, "file", "needs a header line and at least one row");
  int dry = lp_req_flag(r, "dry_run");
  json_t *payload = json_pack("{s:s%, s:b}", "csv", r->body.data, r->body.len, "dry_run", dry);
  if (!payload) return lp_fail_field(&r->err, "file", "must be UTF-8 text");
  lp_code rc = lp_reply_job(r, "import", payload, 0, json_pack("{s:b}", "dry_run", dry));
  json_decref(payload);
  return rc;
}

/* The job: rows checked (and, unless a dry run, created) chunk by chunk, as the importing user. */
lp_code lp_job_import(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  lp_db *db;
  lp_actor a;
  lp_code arc = lp_job_actor(s, job, &db, &a, err);
  if (arc != LP_OK) return arc;
  const char *text = json_string_value(json_object_get(job->payload, "csv"));
  int dry = json_is_true(json_object_get(job->payload, "dry_run"));
  if (!text) return lp_fail(err, LP_EBADREQ, "the job has no file");
  lp_csv csv;
  lp_csv_init(&csv, text, strlen(text));
  char **header = NULL;
  int nheader = lp_csv_next(&csv, &header);
  if (nheader <= 0) return lp_fail(err, LP_EVALIDATION, "the file has no header line");
  /* rows first: the total is known before the work starts */
  int cap = 256, nrows = 0;
  char ***rows = malloc(sizeof *rows * (size_t)cap);
  int *ncells = malloc(sizeof *ncells * (size_t)cap);
  for (;;) {
    char **cells;
    int n = lp_csv_next(&csv, &cells);
    if (n <= 0) break;
    if (nrows == cap) {
      cap *= 2;
      rows = realloc(rows, sizeof *rows * (size_t)cap);
      ncells = realloc(ncells, sizeof *ncells * (size_t)cap);
    }
    rows[nrows] = cells;
    ncells[nrows++] = n;
  }
  json_t *errors = json_array();
  int made = 0, failed = 0;
  lp_err pe = LP_ERR_INIT;
  lp_job_progress(s, job->id, 0, 0, nrows, lp_clock_now(), &pe);
  lp_err_release(&pe);
  json_t *in[CHUNK];
  lp_err errs[CHUNK];
  int64_t ids[CHUNK];
  int at[CHUNK];
  char *country = lp_lead_country(db, 0);  /* national phones: the company's default_country */
  for (int first = 0; first < nrows; first += CHUNK) {
    int last = first + CHUNK < nrows ? first + CHUNK : nrows, n = 0;
    for (int i = first; i < last; i++) {
      lp_err e = LP_ERR_INIT;
      json_t *row = lp_lead_csv_input(header, rows[i], ncells[i] < nheader ? ncells[i] : nheader);
      json_t *cols = NULL;
      const char *oe = json_string_value(json_object_get(row, "owner_email"));
      if (oe) {
        int64_t uid = lp_user_id_by_email(db, oe, &e);
        if (uid) json_object_set_new(row, "owner_id", json_integer(uid));
        else lp_fail_field(&e, "owner_email", "no user with that email");
      }
      if (e.code == LP_OK && lp_rec_input(&lp_rt_lead, row, 1, a.is_admin, country, &cols, &e) == LP_OK && dry)
        lp_lead_check(db, &a, cols, now, &e);
      if (e.code == LP_OK && !dry) {
        in[n] = cols;
        errs[n] = (lp_err)LP_ERR_INIT;
        at[n++] = i;
        cols = NULL;
      } else if (e.code != LP_OK) {
        failed++;
        if (json_array_size(errors) < ERRORS_KEPT) json_array_append_new(errors, json_pack("{s:i, s:o}", "row", i + 1, "error", lp_error_json(&e)));
      } else {
        made++;  /* dry run: this row would be created */
      }
      json_decref(cols);
      json_decref(row);
      lp_err_release(&e);
    }
    if (n) made += lp_lead_create_many(s, &a, in, n, now, errs, ids);
    for (int j = 0; j < n; j++) {
      if (errs[j].code != LP_OK) {
        failed++;
        if (json_array_size(errors) < ERRORS_KEPT) json_array_append_new(errors, json_pack("{s:i, s:o}", "row", at[j] + 1, "error", lp_error_json(&errs[j])));
      }
      json_decref(in[j]);
      lp_err_release(&errs[j]);
    }
    lp_job_progress(s, job->id, last, failed, nrows, lp_clock_now(), &pe);
    lp_err_release(&pe);
  }
  free(country);
  for (int i = 0; i < nrows; i++) lp_csv_fields_free(rows[i], ncells[i]);
  lp_csv_fields_free(header, nheader);
  free(rows);
  free(ncells);
  job->result = json_pack("{s:i, s:i, s:b, s:o}", dry ? "would_create" : "created", made, "failed", failed, "dry_run", dry, "errors", errors);
  return LP_OK;
}
