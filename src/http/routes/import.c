/* import.c — importing leads from CSV files of any size (up to the server's upload limit, 512 MiB
 * by default), in one step or two:
 *
 *   POST /api/v1/import/leads          the file (text/csv) → 202 {job_id, upload_id}: the import
 *                                      starts at once (?dry_run=1, ?on_duplicate=, ?mapping=<JSON>)
 *   POST /api/v1/import/uploads        the file → 201 the upload with a preview: its header, the
 *                                      first rows, a suggested mapping and the fields offered
 *   GET|DELETE /api/v1/import/uploads/{id}
 *   POST /api/v1/import/uploads/{id}/start {mapping, on_duplicate, dry_run} → 202 {job_id}
 *
 * Bodies are streamed to a file in the spool directory as they arrive (R_UPLOAD, src/http/upload.c:
 * never held in memory, checked as UTF-8 CSV text on the way, synced to disk before the answer);
 * the job (importjob.c) reads the file in pieces, record by record. Importing is a bulk action:
 * the role's `bulk` must be allow. Uploads are their sender's (and admins'). docs/import.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/importmap.h"
#include "http/routes/handlers.h"
#include "http/routes/import.h"
#include "store/imports.h"
#include "store/rows.h"
#include "util/csv.h"
#include "util/secret.h"

#define UPLOAD_TTL 86400        /* an upload waits this long for its start */
#define SPOOL_KEEP (7 * 86400)  /* a file nobody touched this long is removed */
#define SAMPLE_ROWS 5

static char spool_dir[1024];
static char node_name[256];
static int64_t cleaned_at;

const char *lp_import_spool(void) { return spool_dir; }
const char *lp_import_node(void) { return node_name; }

void lp_import_setup(lp_store *s, const char *spool, int64_t now) {
  snprintf(spool_dir, sizeof spool_dir, "%s", spool ? spool : "");
  if (gethostname(node_name, sizeof node_name - 1) != 0) snprintf(node_name, sizeof node_name, "localhost");
  if (spool_dir[0]) mkdir(spool_dir, 0700);
  lp_import_spool_clean(s, now);
}

void lp_import_unlink(const char *file) {
  size_t n = strlen(spool_dir);
  if (!file || !n || strncmp(file, spool_dir, n) || file[n] != '/' || strstr(file + n, "/..")) return;
  unlink(file);
}

void lp_import_spool_clean(lp_store *s, int64_t now) {
  if (!spool_dir[0] || (cleaned_at && now - cleaned_at < 60)) return;
  cleaned_at = now;
  lp_err e = LP_ERR_INIT;
  lp_db *db = lp_store_reader(s, &e);
  json_t *rows = db ? lp_uploads_expired(db, now, &e) : NULL;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    const char *node = json_string_value(json_object_get(row, "node"));
    if (node && !strcmp(node, node_name)) lp_import_unlink(json_string_value(json_object_get(row, "file")));
    lp_upload_finish(s, json_integer_value(json_object_get(row, "id")), json_integer_value(json_object_get(row, "created_by")),
                     "removed", NULL, now, &e);
    lp_err_release(&e);
  }
  json_decref(rows);
  lp_err_release(&e);
  DIR *d = opendir(spool_dir);
  if (!d) return;
  struct dirent *de;
  char path[2048];
  while ((de = readdir(d))) {
    if (strncmp(de->d_name, "upload-", 7) && strncmp(de->d_name, "import-", 7)) continue;
    snprintf(path, sizeof path, "%s/%s", spool_dir, de->d_name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > SPOOL_KEEP) unlink(path);
  }
  closedir(d);
}

/* ---- reading the start of a file: its header and first rows */

/* The header's names (empty ones named "Column N") and up to SAMPLE_ROWS rows, from the first
 * bytes of a file (whole = they are the whole file). */
static void head_parse(const char *data, size_t len, int whole, json_t **header, json_t **sample) {
  lp_csv_scan sc = LP_CSV_SCAN_INIT;
  size_t upto = lp_csv_scan_feed(&sc, data, len);
  if (whole) upto = len;
  lp_csv c;
  lp_csv_init(&c, data, upto);
  *header = json_array();
  *sample = json_array();
  char **f = NULL;
  int n = lp_csv_next(&c, &f);
  for (int i = 0; i < n; i++) {
    char *v = f[i];
    while (*v == ' ') v++;
    size_t k = strlen(v);
    while (k && v[k - 1] == ' ') v[--k] = 0;
    if (*v) json_array_append_new(*header, json_stringn(v, k));
    else json_array_append_new(*header, json_sprintf("Column %d", i + 1));
  }
  lp_csv_fields_free(f, n > 0 ? n : 0);
  while (n > 0 && json_array_size(*sample) < SAMPLE_ROWS) {
    n = lp_csv_next(&c, &f);
    if (n <= 0) break;
    json_t *row = json_array();
    for (int i = 0; i < n; i++) {
      json_t *v = json_string(f[i]);
      json_array_append_new(row, v ? v : json_string(""));
    }
    json_array_append_new(*sample, row);
    lp_csv_fields_free(f, n);
  }
}

static json_t *upload_present(json_t *row, json_t *header, json_t *sample, int admin) {
  json_t *h = header ? json_incref(header) : json_loads(json_string_value(json_object_get(row, "header")) ?: "[]", 0, NULL);
  if (!json_is_array(h)) { json_decref(h); h = json_array(); }
  json_t *job = json_object_get(row, "job_id");
  json_t *o = json_pack("{s:O, s:O, s:I, s:I, s:o, s:o, s:o, s:o, s:O, s:o, s:o}", "id", json_object_get(row, "id"),
                        "status", json_object_get(row, "status"), "size", json_integer_value(json_object_get(row, "size")),
                        "rows", json_integer_value(json_object_get(row, "rows")), "headers", h,
                        "sample", sample ? json_incref(sample) : json_array(), "suggested_mapping", lp_import_suggest_all(h, admin),
                        "fields", lp_import_fields(admin), "job_id", json_is_integer(job) ? job : json_null(),
                        "created_at", lp_json_time(json_object_get(row, "created_at")),
                        "expires_at", lp_json_time(json_object_get(row, "expires_at")));
  return o;
}

/* ---- the checks made as the headers arrive (R_UPLOAD's begin) */

static lp_code import_rights(lp_req *r) {
  if (r->actor.perm[LP_ACT_BULK] != LP_ALLOW) return lp_fail(&r->err, LP_EFORBIDDEN, "Your role may not import leads (it needs the bulk permission)");
  return LP_OK;
}

static lp_code check_options(lp_req *r, const char *dup, json_t *mapping_in, int mapping_given) {
  if (dup && strcmp(dup, "create") && strcmp(dup, "update") && strcmp(dup, "skip"))
    lp_fail_field(&r->err, "on_duplicate", "must be create, update or skip");
  if (mapping_given && !json_is_object(mapping_in) && !json_is_null(mapping_in))
    lp_fail_field(&r->err, "mapping", "must be a JSON object of the file's column names to lead fields");
  return r->err.code;
}

/* ?mapping=<JSON> (also ?map=), NULL when absent; *bad when it is not JSON. */
static json_t *query_mapping(lp_req *r, int *given) {
  const char *m = lp_req_query(r, "mapping");
  if (!m) m = lp_req_query(r, "map");
  *given = m != NULL;
  if (!m) return NULL;
  json_t *j = json_loads(m, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
  return j ? j : json_string("not JSON");
}

lp_code h_import_begin(lp_req *r) {
  if (import_rights(r) != LP_OK) return r->err.code;
  const char *ct = lp_req_header(r, "Content-Type");
  if (!ct || strncasecmp(ct, "text/csv", 8) != 0)
    return lp_fail(&r->err, LP_EMEDIA, "Send the file as CSV with Content-Type: text/csv");
  int given;
  json_t *m = query_mapping(r, &given);
  check_options(r, lp_req_query(r, "on_duplicate"), m, given);
  json_decref(m);
  lp_import_spool_clean(r->app->store, r->now);
  return r->err.code;
}

/* ---- the file in: checked, kept, recorded */

/* Checks what upload.c found and keeps the file under its final name; *in is what the store
 * records, *header and *sample the preview. */
static lp_code upload_finish(lp_req *r, lp_upload_in *in, char *path, size_t pathlen, json_t **header, json_t **sample) {
  lp_upload *u = r->upload;
  *header = *sample = NULL;
  if (!u) return lp_fail(&r->err, LP_EINTERNAL, "the upload's file is missing");
  if (u->size == 0) return lp_fail_field(&r->err, "file", "is empty: it needs a header line and at least one row");
  if (lp_csv_scan_end(&u->scan) != 0) {
    lp_fail(&r->err, LP_EVALIDATION, "The file is not valid CSV: a quoted field opened near the end is never closed");
    return lp_fail_field(&r->err, "file", "is not valid CSV (a quote is not closed)");
  }
  if (u->scan.bad_at >= 0) return lp_fail_field(&r->err, "file", "is not UTF-8 text (it ends inside a character)");
  if (u->scan.records < 2) return lp_fail_field(&r->err, "file", "needs a header line and at least one row");
  head_parse(u->head.data, u->head.len, u->size <= (int64_t)u->head.len, header, sample);
  if (json_array_size(*header) == 0) return lp_fail_field(&r->err, "file", "has no header line");
  char tok[LP_TOKEN_LEN];
  lp_token_new(tok);
  tok[24] = 0;
  snprintf(path, pathlen, "%s/import-%s.csv", spool_dir, tok);
  if (lp_upload_keep(r, path) != LP_OK) return r->err.code;
  *in = (lp_upload_in){path, node_name, u->size, u->scan.records - 1, *header, r->now + UPLOAD_TTL};
  return LP_OK;
}

static json_t *start_payload(json_t *columns, const char *dup, int dry, int once, int64_t total) {
  return json_pack("{s:O, s:s, s:b, s:b, s:I}", "columns", columns, "on_duplicate", dup ? dup : "create", "dry_run", dry,
                   "once", once, "total", (json_int_t)total);
}

static lp_code job_answer(lp_req *r, int64_t job_id, int64_t upload_id, int dry, const char *dup) {
  char loc[64];
  snprintf(loc, sizeof loc, "/api/v1/jobs/%lld", (long long)job_id);
  lp_reply_header(r, "Location", loc);
  return lp_reply(r, 202, json_pack("{s:I, s:s, s:b, s:s, s:I}", "job_id", (json_int_t)job_id, "status", "queued", "dry_run", dry,
                                    "on_duplicate", dup ? dup : "create", "upload_id", (json_int_t)upload_id));
}

lp_code h_import_leads(lp_req *r) {
  int given;
  json_t *mapping = query_mapping(r, &given);
  const char *dup = lp_req_query(r, "on_duplicate");
  int dry = lp_req_flag(r, "dry_run");
  lp_upload_in in;
  char path[1100];
  json_t *header, *sample, *columns = NULL;
  lp_code rc = upload_finish(r, &in, path, sizeof path, &header, &sample);
  if (rc == LP_OK) rc = lp_import_columns(header, json_is_object(mapping) ? mapping : NULL, r->actor.is_admin, &columns, &r->err);
  int64_t id = 0, job = 0;
  if (rc == LP_OK) {
    json_t *payload = start_payload(columns, dup, dry, 1, in.rows);
    lp_upload_start_in st = {payload, dry};
    rc = lp_upload_add(r->app->store, &r->actor, &in, &st, r->now, &id, &job, &r->err);
    json_decref(payload);
  }
  json_decref(mapping);
  json_decref(columns);
  json_decref(header);
  json_decref(sample);
  if (rc != LP_OK) return rc;
  r->upload->kept = 1;
  return job_answer(r, job, id, dry, dup);
}

lp_code h_import_upload(lp_req *r) {
  lp_upload_in in;
  char path[1100];
  json_t *header, *sample;
  int64_t id = 0, job = 0;
  lp_code rc = upload_finish(r, &in, path, sizeof path, &header, &sample);
  if (rc == LP_OK) rc = lp_upload_add(r->app->store, &r->actor, &in, NULL, r->now, &id, &job, &r->err);
  json_t *row = NULL;
  if (rc == LP_OK) {
    r->upload->kept = 1;
    lp_db *db = lp_req_db(r);
    row = db ? lp_upload_get(db, &r->actor, id, &r->err) : NULL;
    if (!row) rc = r->err.code;
  }
  if (rc == LP_OK) {
    char loc[64];
    snprintf(loc, sizeof loc, "/api/v1/import/uploads/%lld", (long long)id);
    lp_reply_header(r, "Location", loc);
    rc = lp_reply(r, 201, upload_present(row, header, sample, r->actor.is_admin));
  }
  json_decref(row);
  json_decref(header);
  json_decref(sample);
  return rc;
}

/* The first bytes of an upload's file still waiting here: its header and first rows. */
static void file_preview(json_t *row, json_t **header, json_t **sample) {
  *header = *sample = NULL;
  const char *st = json_string_value(json_object_get(row, "status"));
  const char *file = json_string_value(json_object_get(row, "file"));
  if (!st || strcmp(st, "uploaded") || !file) return;
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char *buf = malloc(LP_UPLOAD_HEAD);
  ssize_t n = buf ? read(fd, buf, LP_UPLOAD_HEAD) : -1;
  close(fd);
  if (n > 0) head_parse(buf, (size_t)n, n < LP_UPLOAD_HEAD, header, sample);
  free(buf);
}

lp_code h_import_upload_get(lp_req *r) {
  if (import_rights(r) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *row = db ? lp_upload_get(db, &r->actor, r->ids[0], &r->err) : NULL;
  if (!row) return r->err.code;
  json_t *header, *sample;
  file_preview(row, &header, &sample);
  lp_code rc = lp_reply(r, 200, upload_present(row, NULL, sample, r->actor.is_admin));
  json_decref(header);
  json_decref(sample);
  json_decref(row);
  return rc;
}

lp_code h_import_upload_delete(lp_req *r) {
  if (import_rights(r) != LP_OK) return r->err.code;
  json_t *row = NULL;
  if (lp_upload_remove(r->app->store, &r->actor, r->ids[0], r->now, &row, &r->err) != LP_OK) return r->err.code;
  const char *node = json_string_value(json_object_get(row, "node"));
  if (node && !strcmp(node, node_name)) lp_import_unlink(json_string_value(json_object_get(row, "file")));
  json_decref(row);
  r->status = 204;
  return LP_OK;
}

lp_code h_import_upload_start(lp_req *r) {
  if (import_rights(r) != LP_OK) return r->err.code;
  json_t *b = r->json;
  static const char *const keys[] = {"mapping", "on_duplicate", "dry_run"};
  const char *k;
  json_t *v;
  json_object_foreach(b, k, v) {
    int ok = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) ok |= !strcmp(k, keys[i]);
    if (!ok) lp_fail_field(&r->err, k, "is not a field of a start (mapping, on_duplicate, dry_run)");
  }
  json_t *dupv = json_object_get(b, "on_duplicate"), *dryv = json_object_get(b, "dry_run"), *mapping = json_object_get(b, "mapping");
  if (dupv && !json_is_string(dupv)) lp_fail_field(&r->err, "on_duplicate", "must be create, update or skip");
  if (dryv && !json_is_boolean(dryv)) lp_fail_field(&r->err, "dry_run", "must be true or false");
  const char *dup = json_string_value(dupv);
  if (check_options(r, dup, mapping, mapping != NULL) != LP_OK) return r->err.code;
  lp_db *db = lp_req_db(r);
  json_t *row = db ? lp_upload_get(db, &r->actor, r->ids[0], &r->err) : NULL;
  if (!row) return r->err.code;
  json_t *header = json_loads(json_string_value(json_object_get(row, "header")) ?: "[]", 0, NULL);
  json_t *columns = NULL;
  int dry = json_is_true(dryv);
  lp_code rc = lp_import_columns(header, json_is_object(mapping) ? mapping : NULL, r->actor.is_admin, &columns, &r->err);
  int64_t job = 0;
  if (rc == LP_OK) {
    json_t *payload = start_payload(columns, dup, dry, 0, json_integer_value(json_object_get(row, "rows")));
    lp_upload_start_in st = {payload, dry};
    rc = lp_upload_start(r->app->store, &r->actor, r->ids[0], &st, r->now, &job, &r->err);
    json_decref(payload);
  }
  json_decref(columns);
  json_decref(header);
  json_decref(row);
  if (rc != LP_OK) return rc;
  return job_answer(r, job, r->ids[0], dry, dup);
}
