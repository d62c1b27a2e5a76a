/* import.c — POST /api/v1/import/leads (text/csv, ?dry_run=1): a CSV of leads becomes a background
 * job (202 {"job_id"}; progress and the failed rows at GET /api/v1/jobs/{id}). Each row goes
 * through the same rules as POST /api/v1/leads, as the user who sent the file; rows are created
 * 500 at a time (lp_lead_create_many: one COPY on PostgreSQL). With dry_run every row is checked
 * and nothing is created. Columns are those of the export (owners may be given by owner_email).
 * Importing is a bulk action: it needs the role's `bulk` permission. ?on_duplicate=update|skip: a row
 * sharing an e-mail address or phone number with an open lead updates that lead (its fields as a
 * PATCH would set them, its addresses added to the lead's) or is skipped; create (the default)
 * always creates. The job's result counts created, updated and skipped rows. */
#include "app/clock.h"
#include "core/leadcsv.h"
#include "core/record.h"
#include "http/routes/handlers.h"
#include "jobs/jobs.h"
#include "store/leads.h"
#include "store/related.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/csv.h"

#define CHUNK 500
#define ERRORS_KEPT 1000

/* ---- duplicates (on_duplicate): the addresses of rows waiting to be created, and the update of
 * an open lead a row matches. */

static void pending_each(json_t *cols, json_t *set, int add, int *hit) {
  static const char *lists[] = {"emails", "phones"};
  for (int l = 0; l < 2; l++) {
    json_t *v = json_object_get(cols, lists[l]);
    json_t *arr = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : json_incref(v);
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
      if (!json_is_string(x)) continue;
      if (add) json_object_set_new(set, json_string_value(x), json_true());
      else if (json_object_get(set, json_string_value(x))) *hit = 1;
    }
    json_decref(arr);
  }
}

static int pending_has(json_t *set, json_t *cols) {
  int hit = 0;
  pending_each(cols, set, 0, &hit);
  return hit;
}

static void pending_add(json_t *set, json_t *cols) { pending_each(cols, set, 1, NULL); }

/* A list column (JSON text) of the lead with the row's added, at most 20. */
static json_t *list_union(json_t *lead, json_t *cols, const char *k) {
  json_t *all = json_loads(json_string_value(json_object_get(lead, k)) ? json_string_value(json_object_get(lead, k)) : "[]", 0, NULL);
  if (!json_is_array(all)) { json_decref(all); all = json_array(); }
  json_t *mine = json_loads(json_string_value(json_object_get(cols, k)) ? json_string_value(json_object_get(cols, k)) : "[]", 0, NULL);
  size_t i, j;
  json_t *v, *w;
  json_array_foreach(mine, i, v) {
    int dup = 0;
    json_array_foreach(all, j, w) if (json_equal(v, w)) dup = 1;
    if (!dup && json_array_size(all) < 20) json_array_append(all, v);
  }
  json_decref(mine);
  char *t = json_dumps(all, JSON_COMPACT);
  json_decref(all);
  json_t *o = json_string(t ? t : "[]");
  free(t);
  return o;
}

static lp_code update_match(lp_store *s, const lp_actor *a, lp_db *db, int64_t id, json_t *cols, int64_t now, lp_err *err) {
  json_t *lead = lp_lead_row(db, id, err);
  if (!lead) return err->code;
  json_t *patch = json_deep_copy(cols);
  /* history fields are for new leads; a match is open and stays so */
  static const char *const history[] = {"status", "outcome", "lost_reason_id", "close_notes", "closed_at", "sold_at", "created_at"};
  for (size_t i = 0; i < sizeof history / sizeof *history; i++) json_object_del(patch, history[i]);
  json_object_set_new(patch, "emails", list_union(lead, cols, "emails"));
  json_object_set_new(patch, "phones", list_union(lead, cols, "phones"));
  json_decref(lead);
  json_t *o = lp_lead_update(s, a, id, patch, -1, now, err);
  json_decref(patch);
  if (!o) return err->code;
  json_decref(o);
  return LP_OK;
}

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
  const char *dup = lp_req_query(r, "on_duplicate");
  if (dup && strcmp(dup, "create") && strcmp(dup, "update") && strcmp(dup, "skip"))
    return lp_fail_field(&r->err, "on_duplicate", "must be create, update or skip");
  json_t *payload = json_pack("{s:s%, s:b, s:s}", "csv", r->body.data, r->body.len, "dry_run", dry, "on_duplicate", dup ? dup : "create");
  if (!payload) return lp_fail_field(&r->err, "file", "must be UTF-8 text");
  lp_code rc = lp_reply_job(r, "import", payload, 0, json_pack("{s:b, s:s}", "dry_run", dry, "on_duplicate", dup ? dup : "create"));
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
  /* on_duplicate update|skip: a row sharing an e-mail address or phone number with an open lead
   * updates that lead (through the planner, as a PATCH would: given fields set, addresses added)
   * or is skipped; rows waiting to be created count as open leads too (keys: their addresses). */
  const char *ondup = json_string_value(json_object_get(job->payload, "on_duplicate"));
  int mode = ondup && !strcmp(ondup, "update") ? 1 : ondup && !strcmp(ondup, "skip") ? 2 : 0;
  int updated = 0, skipped = 0, n = 0;
  json_t *pending = json_object();  /* addresses of the rows in in[] */
#define KEEP_ERROR(rowno, e) do { failed++; \
    if (json_array_size(errors) < ERRORS_KEPT) json_array_append_new(errors, json_pack("{s:i, s:o}", "row", (rowno), "error", lp_error_json(e))); } while (0)
#define FLUSH() do { if (n) made += lp_lead_create_many(s, &a, in, n, now, errs, ids); \
    for (int j = 0; j < n; j++) { if (errs[j].code != LP_OK) KEEP_ERROR(at[j] + 1, &errs[j]); \
      json_decref(in[j]); lp_err_release(&errs[j]); } n = 0; json_object_clear(pending); } while (0)
  for (int i = 0; i < nrows; i++) {
    lp_err e = LP_ERR_INIT;
    json_t *row = lp_lead_csv_input(header, rows[i], ncells[i] < nheader ? ncells[i] : nheader);
    json_t *cols = NULL;
    const char *oe = json_string_value(json_object_get(row, "owner_email"));
    if (oe) {
      int64_t uid = lp_user_id_by_email(db, oe, &e);
      if (uid) json_object_set_new(row, "owner_id", json_integer(uid));
      else lp_fail_field(&e, "owner_email", "no user with that email");
    }
    int64_t match = 0;
    if (e.code == LP_OK && lp_rec_input(&lp_rt_lead, row, 1, a.is_admin, country, &cols, &e) == LP_OK && mode) {
      if (pending_has(pending, cols)) FLUSH();  /* an earlier row of the file: created first */
      int64_t found[1];
      int k = lp_leads_open_matching(db, json_object_get(cols, "emails"), json_object_get(cols, "phones"), 0, found, 1, &e);
      if (k > 0) match = found[0];
    }
    if (e.code == LP_OK && match && mode == 2) {
      skipped++;
    } else if (e.code == LP_OK && match) {
      if (dry) updated++;
      else if (update_match(s, &a, db, match, cols, now, &e) == LP_OK) updated++;
    } else if (e.code == LP_OK && dry) {
      if (lp_lead_check(db, &a, cols, now, &e) == LP_OK) made++;  /* would be created */
    } else if (e.code == LP_OK) {
      if (mode) pending_add(pending, cols);
      in[n] = cols;
      errs[n] = (lp_err)LP_ERR_INIT;
      at[n++] = i;
      cols = NULL;
    }
    if (e.code != LP_OK) KEEP_ERROR(i + 1, &e);
    json_decref(cols);
    json_decref(row);
    lp_err_release(&e);
    if (n == CHUNK || i == nrows - 1) {
      FLUSH();
      lp_job_progress(s, job->id, i + 1, failed, nrows, lp_clock_now(), &pe);
      lp_err_release(&pe);
    }
  }
  free(country);
#undef FLUSH
#undef KEEP_ERROR
  json_decref(pending);
  for (int i = 0; i < nrows; i++) lp_csv_fields_free(rows[i], ncells[i]);
  lp_csv_fields_free(header, nheader);
  free(rows);
  free(ncells);
  job->result = json_pack("{s:i, s:i, s:i, s:i, s:b, s:o}", dry ? "would_create" : "created", made, dry ? "would_update" : "updated",
                          updated, dry ? "would_skip" : "skipped", skipped, "failed", failed, "dry_run", dry, "errors", errors);
  return LP_OK;
}
