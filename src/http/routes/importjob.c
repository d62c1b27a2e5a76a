/* importjob.c — the `import` job: the rows of an uploaded CSV file (import.c) become leads.
 *
 * The file is read in pieces (READ_BUF at first, more only for a longer record), record by
 * record: lp_csv_scan finds where the last complete record of a piece ends and lp_csv_next reads
 * whole records only, so memory stays flat whatever the file's size. Rows are taken CHUNK at a
 * time; each chunk is ONE write: every row through the same rules as POST /api/v1/leads, as the
 * user who sent the file (lp_lead_create_tx: the planner and the applier), each in a savepoint of
 * its own (a bad row costs only itself), and the job's checkpoint — the offset in the file after
 * the chunk, its line, the counts so far and the failed rows — in the same transaction
 * (lp_job_checkpoint). So the job's `done` is exactly the rows committed.
 *
 * A crash (or a restart) mid-import: the chunk in flight rolls back with everything it wrote;
 * the job's lease runs out (2 minutes) and a worker claims the job again, which starts reading
 * at the checkpoint's offset: the import RESUMES, and no row is ever imported twice or skipped.
 * Should the worker that lost its lease still be running, its next checkpoint finds `done` moved
 * and its chunk rolls back (LP_ECONFLICT). A file that is gone makes the job fail with that
 * said in `last_error`; a file written by another server of the same database (which keeps it in
 * its own spool directory) is left to that server: the job waits for it (deferred).
 *
 * on_duplicate update|skip: a row sharing an e-mail address or phone number with an open lead
 * (an earlier row of the file included: it was created in the same transaction or before)
 * updates that lead (its fields as a PATCH would set them, its addresses added to the lead's) or
 * is skipped; create (the default) always creates. With dry_run every row is checked and nothing
 * is written but the checkpoint. When the job ends the file is removed (a dry run of a two-step
 * upload keeps it, for the import that follows the check). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "app/clock.h"
#include "core/importmap.h"
#include "core/record.h"
#include "http/routes/handlers.h"
#include "http/routes/import.h"
#include "jobs/jobs.h"
#include "store/imports.h"
#include "store/leads.h"
#include "store/related.h"
#include "store/rows.h"
#include "store/users.h"
#include "util/csv.h"

#define CHUNK 250                    /* rows per transaction */
#define CHUNK_BYTES (4 << 20)        /* ... or fewer when they are large */
#define READ_BUF (1 << 20)
#define RECORD_MAX (64 << 20)        /* a longer record stops the import */
#define ERRORS_KEPT 1000

/* ---- reading the file record by record */

typedef struct {
  int fd;
  char *buf;
  size_t cap, len, pos, lim;   /* buf[pos, lim) holds whole records only */
  int eof;
  int64_t off;                 /* the file offset of buf[0] */
  long long lines;             /* line breaks before buf[pos] */
  lp_csv_scan scan;
} reader;

static void rd_init(reader *r, int fd, int64_t off, long long lines) {
  r->fd = fd;
  r->len = r->pos = r->lim = 0;
  r->eof = 0;
  r->off = off;
  r->lines = lines;
  r->scan = (lp_csv_scan)LP_CSV_SCAN_INIT;
  if (lseek(fd, off, SEEK_SET) < 0) r->eof = -1;
}

/* More bytes: 0, -1 on a read error, -2 when a record is longer than RECORD_MAX. */
static int rd_fill(reader *r) {
  if (r->pos) {
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->off += (int64_t)r->pos;
    r->len -= r->pos;
    r->lim -= r->pos;
    r->pos = 0;
  }
  if (r->len == r->cap) {
    if (r->cap >= RECORD_MAX) return -2;
    char *nb = realloc(r->buf, r->cap * 2);
    if (!nb) return -1;
    r->buf = nb;
    r->cap *= 2;
  }
  ssize_t n;
  do n = read(r->fd, r->buf + r->len, r->cap - r->len); while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  if (n == 0) {
    r->eof = 1;
    lp_csv_scan_end(&r->scan);
    r->lim = r->len;  /* the last record may have no line break after it */
    return 0;
  }
  if (r->off == 0 && r->len == 0 && n >= 3 && !memcmp(r->buf, "\xef\xbb\xbf", 3)) r->pos = 3;  /* a byte order mark */
  size_t done = lp_csv_scan_feed(&r->scan, r->buf + r->len, (size_t)n);
  if (done) r->lim = r->len + done;
  r->len += (size_t)n;
  return 0;
}

static long long count_nl(const char *p, size_t n) {
  long long k = 0;
  for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++) k++;
  return k;
}

/* The next record: its number of fields (0 at the end; -1 when the rest of the file is a quoted
 * field never closed; -2 a read error; -3 a record too long), its cells and its first line. */
static int rd_next(reader *r, char ***fields, long long *line) {
  *fields = NULL;
  for (;;) {
    if (r->eof < 0) return -2;
    if (r->pos < r->lim) {
      lp_csv c = {r->buf + r->pos, r->buf + r->lim, 0, 0};
      int n = lp_csv_next(&c, fields);
      if (n == 0) {  /* blank lines only */
        r->lines += count_nl(r->buf + r->pos, r->lim - r->pos);
        r->pos = r->lim;
        continue;
      }
      *line = r->lines + c.first_line;
      if (n < 0) return -1;
      size_t used = (size_t)(c.p - (r->buf + r->pos));
      r->lines += count_nl(r->buf + r->pos, used);
      r->pos += used;
      return n;
    }
    if (r->eof) return 0;
    int rc = rd_fill(r);
    if (rc < 0) return rc == -1 ? -2 : -3;
  }
}

/* ---- one chunk: rows, then the checkpoint, in one write */

typedef struct {
  char **cells;
  int n;
  long long line;
  int row;                     /* 1 = the first data row */
} rec;

typedef struct {
  /* fixed for the job */
  lp_job *job;
  lp_actor a;
  json_t *columns;
  const char *country;
  int mode, dry;               /* mode: 0 create, 1 update, 2 skip */
  int total;
  /* the chunk */
  rec *recs;
  int nrecs;
  int64_t offset_after;
  long long lines_after;
  int64_t now;
  /* counts: before the chunk (from the last checkpoint) and with it */
  int done0, created0, updated0, skipped0, failed0;
  size_t errors0;
  int created, updated, skipped, failed;
  json_t *errors;              /* the failed rows so far: trimmed back to errors0 on a retry */
  json_t *result;              /* the checkpoint written (new reference once committed) */
} chunk_ctx;

static void keep_error(chunk_ctx *c, const rec *x, const lp_err *e) {
  c->failed++;
  if (json_array_size(c->errors) < ERRORS_KEPT)
    json_array_append_new(c->errors, json_pack("{s:i, s:I, s:o}", "row", x->row, "line", (json_int_t)x->line, "error", lp_error_json(e)));
}

/* A list column (JSON text) of the lead with the row's added, at most 20. */
static json_t *list_union(json_t *lead, json_t *cols, const char *k) {
  json_t *all = json_loads(json_string_value(json_object_get(lead, k)) ?: "[]", 0, NULL);
  if (!json_is_array(all)) { json_decref(all); all = json_array(); }
  json_t *mine = json_loads(json_string_value(json_object_get(cols, k)) ?: "[]", 0, NULL);
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

/* The update of the open lead `id` a row matches, inside the chunk's write. */
static lp_code update_match(lp_db *db, const lp_actor *a, int64_t id, json_t *cols, int64_t now, lp_err *err) {
  json_t *lead = lp_lead_row(db, id, err);
  if (!lead) return err->code;
  json_t *patch = json_deep_copy(cols);
  /* history fields are for new leads; a match is open and stays so */
  static const char *const history[] = {"status", "outcome", "lost_reason_id", "close_notes", "closed_at", "sold_at", "created_at"};
  for (size_t i = 0; i < sizeof history / sizeof *history; i++) json_object_del(patch, history[i]);
  json_object_set_new(patch, "emails", list_union(lead, cols, "emails"));
  json_object_set_new(patch, "phones", list_union(lead, cols, "phones"));
  json_decref(lead);
  lp_code rc = lp_lead_update_tx(db, a, id, patch, now, err);
  json_decref(patch);
  return rc;
}

/* Whether a row's failure is the row's (kept as a failed row) or the database's (the chunk stops
 * and the job is tried again from its checkpoint). */
static int db_failure(lp_code c) { return c == LP_EUNAVAILABLE || c == LP_EINTERNAL; }

static lp_code one_row(lp_db *db, chunk_ctx *c, const rec *x, lp_err *e) {
  json_t *row = lp_import_row(c->columns, x->cells, x->n);
  json_t *cols = NULL;
  const char *oe = json_string_value(json_object_get(row, "owner_email"));
  if (oe) {
    int64_t uid = lp_user_id_by_email(db, oe, e);
    if (uid) json_object_set_new(row, "owner_id", json_integer(uid));
    else if (e->code == LP_OK) lp_fail_field(e, "owner_email", "no user with that email");
  }
  int64_t match = 0;
  if (e->code == LP_OK && lp_rec_input(&lp_rt_lead, row, 1, c->a.is_admin, c->country, &cols, e) == LP_OK && c->mode) {
    int64_t found[1];
    if (lp_leads_open_matching(db, json_object_get(cols, "emails"), json_object_get(cols, "phones"), 0, found, 1, e) > 0) match = found[0];
  }
  json_decref(row);
  if (e->code != LP_OK) { json_decref(cols); return e->code; }
  lp_code rc = LP_OK;
  if (match && c->mode == 2) {
    c->skipped++;
  } else if (c->dry) {
    if (match) c->updated++;
    else if ((rc = lp_lead_check(db, &c->a, cols, c->now, e)) == LP_OK) c->created++;
  } else {
    /* a savepoint of its own: a row that fails halfway leaves nothing behind */
    rc = lp_db_exec(db, "SAVEPOINT lp_import_row", e);
    if (rc == LP_OK) {
      if (match) {
        rc = update_match(db, &c->a, match, cols, c->now, e);
      } else {
        int64_t id = 0;
        json_t *via = json_pack("{s:I, s:I}", "import_job", (json_int_t)c->job->id, "line", (json_int_t)x->line);
        rc = lp_lead_create_tx_via(db, &c->a, cols, c->now, via, &id, e);
        json_decref(via);
      }
      lp_err se = LP_ERR_INIT;
      if (rc != LP_OK && lp_db_exec(db, "ROLLBACK TO SAVEPOINT lp_import_row", &se) != LP_OK) {
        lp_err_release(e);
        *e = se;
        rc = e->code = LP_EUNAVAILABLE;
      } else {
        lp_err_release(&se);
        if (lp_db_exec(db, "RELEASE SAVEPOINT lp_import_row", &se) != LP_OK && rc == LP_OK) { *e = se; rc = LP_EUNAVAILABLE; }
        else lp_err_release(&se);
      }
      if (rc == LP_OK) { if (match) c->updated++; else c->created++; }
    }
  }
  json_decref(cols);
  return rc;
}

static json_t *checkpoint_json(chunk_ctx *c, int64_t offset, long long lines, int rows) {
  return json_pack("{s:{s:I, s:I, s:i}, s:i, s:i, s:i, s:i, s:b, s:O}", "cursor", "offset", (json_int_t)offset, "lines",
                   (json_int_t)lines, "rows", rows, c->dry ? "would_create" : "created", c->created, c->dry ? "would_update" : "updated",
                   c->updated, c->dry ? "would_skip" : "skipped", c->skipped, "failed", c->failed, "dry_run", c->dry, "errors", c->errors);
}

static lp_code chunk_fn(lp_db *db, void *p, lp_err *err) {
  chunk_ctx *c = p;
  /* a retried write (PostgreSQL) starts over from the counts before the chunk */
  c->created = c->created0, c->updated = c->updated0, c->skipped = c->skipped0, c->failed = c->failed0;
  while (json_array_size(c->errors) > c->errors0) json_array_remove(c->errors, json_array_size(c->errors) - 1);
  for (int i = 0; i < c->nrecs; i++) {
    const rec *x = &c->recs[i];
    lp_err e = LP_ERR_INIT;
    if (x->n < 0) lp_fail_field(&e, "file", "is not valid CSV from this line on (a quoted field is never closed)");
    lp_code rc = x->n < 0 ? LP_EVALIDATION : one_row(db, c, x, &e);
    if (rc != LP_OK && db_failure(rc)) {
      lp_fail(err, rc, "row %d (line %lld): %s", x->row, x->line, e.message);
      lp_err_release(&e);
      return err->code;
    }
    if (rc != LP_OK) keep_error(c, x, &e);
    lp_err_release(&e);
  }
  int done = c->done0 + c->nrecs;
  json_decref(c->result);
  c->result = checkpoint_json(c, c->offset_after, c->lines_after, done);
  return lp_job_checkpoint(db, c->job->id, c->done0, done, c->failed, c->total > done ? c->total : done, c->result, c->now, err);
}

static void recs_free(rec *recs, int n) {
  for (int i = 0; i < n; i++) if (recs[i].n > 0) lp_csv_fields_free(recs[i].cells, recs[i].n);
}

/* The import ended (or stopped for good): the upload's state, and its file gone unless a dry run
 * of an upload that waits for its import. */
static void upload_done(lp_store *s, lp_job *job, const char *file, int dry, int once, json_t *summary) {
  int64_t upload = json_integer_value(json_object_get(job->payload, "upload_id"));
  int keep = dry && !once;
  if (!keep) lp_import_unlink(file);
  lp_err e = LP_ERR_INIT;
  if (upload && !keep) lp_upload_finish(s, upload, job->created_by, dry ? "removed" : "done", summary, lp_clock_now(), &e);
  lp_err_release(&e);
}

lp_code lp_job_import(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  json_t *pl = job->payload;
  const char *file = json_string_value(json_object_get(pl, "file"));
  const char *node = json_string_value(json_object_get(pl, "node"));
  json_t *columns = json_object_get(pl, "columns");
  if (!file || !json_is_array(columns)) {
    /* a job queued by an older server, with the file in its payload: such a file is no longer read */
    return lp_fail(err, LP_EVALIDATION, "this import job has no file to read; send the file again");
  }
  int dry = json_is_true(json_object_get(pl, "dry_run")), once = json_is_true(json_object_get(pl, "once"));
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (node && strcmp(node, lp_import_node())) {  /* another server has it: wait for that one */
      job->deferred = 1;
      job->retry_at = now + 5;
      return lp_fail(err, LP_EUNAVAILABLE, "the file is kept by server %s, which will import it", node);
    }
    lp_fail(err, LP_EVALIDATION, "the uploaded file is gone (%s): send it again", strerror(errno));
    upload_done(s, job, file, 0, 1, NULL);
    return err->code;
  }
  chunk_ctx c = {0};
  c.job = job;
  lp_db *db;
  lp_code rc = lp_job_actor(s, job, &db, &c.a, err);
  if (rc != LP_OK) { close(fd); return rc; }
  /* where an earlier attempt got to */
  json_t *args = json_pack("[I]", (json_int_t)job->id);
  json_t *jrow = lp_query_one(db, "SELECT done, result FROM jobs WHERE id = $1", args, err);
  json_decref(args);
  if (!jrow) { close(fd); return err->code != LP_OK ? err->code : lp_fail(err, LP_ENOTFOUND, "the job is gone"); }
  json_t *prev = json_loads(json_string_value(json_object_get(jrow, "result")) ?: "{}", 0, NULL);
  json_t *cursor = json_object_get(prev, "cursor");
  c.done0 = json_is_object(cursor) ? (int)json_integer_value(json_object_get(jrow, "done")) : 0;
  json_decref(jrow);
  c.columns = columns;
  const char *ondup = json_string_value(json_object_get(pl, "on_duplicate"));
  c.mode = ondup && !strcmp(ondup, "update") ? 1 : ondup && !strcmp(ondup, "skip") ? 2 : 0;
  c.dry = dry;
  c.total = (int)json_integer_value(json_object_get(pl, "total"));
  char *country = lp_lead_country(db, 0);  /* national phones: the company's default_country */
  c.country = country;
  c.errors = json_array();
  int64_t offset = 0;
  long long lines = 0;
  if (json_is_object(cursor)) {
    offset = json_integer_value(json_object_get(cursor, "offset"));
    lines = json_integer_value(json_object_get(cursor, "lines"));
    c.created0 = (int)json_integer_value(json_object_get(prev, dry ? "would_create" : "created"));
    c.updated0 = (int)json_integer_value(json_object_get(prev, dry ? "would_update" : "updated"));
    c.skipped0 = (int)json_integer_value(json_object_get(prev, dry ? "would_skip" : "skipped"));
    c.failed0 = (int)json_integer_value(json_object_get(prev, "failed"));
    if (json_is_array(json_object_get(prev, "errors"))) json_array_extend(c.errors, json_object_get(prev, "errors"));
    c.result = json_incref(prev);
  }
  json_decref(prev);
  c.errors0 = json_array_size(c.errors);
  reader rd = {.buf = malloc(READ_BUF), .cap = READ_BUF};
  if (!rd.buf) { close(fd); free(country); json_decref(c.errors); json_decref(c.result); return lp_fail(err, LP_EUNAVAILABLE, "out of memory"); }
  /* the header, then the rows from the checkpoint on */
  rd_init(&rd, fd, 0, 0);
  char **header = NULL;
  long long hline = 0;
  int nh = rd_next(&rd, &header, &hline);
  lp_csv_fields_free(header, nh > 0 ? nh : 0);
  if (nh <= 0) rc = lp_fail(err, nh == -2 ? LP_EUNAVAILABLE : LP_EVALIDATION, "the file has no header line to read");
  if (rc == LP_OK && offset > 0) rd_init(&rd, fd, offset, lines);
  int row = c.done0;
  rec *recs = calloc(CHUNK, sizeof *recs);
  int end = rc != LP_OK;
  lp_err pe = LP_ERR_INIT;
  if (!end && c.done0 == 0) lp_job_progress(s, job->id, 0, 0, c.total, lp_clock_now(), &pe);
  lp_err_release(&pe);
  while (!end) {
    int n = 0;
    size_t bytes = 0;
    while (n < CHUNK && bytes < CHUNK_BYTES) {
      char **cells;
      long long line = 0;
      int k = rd_next(&rd, &cells, &line);
      if (k == 0) { end = 1; break; }
      if (k == -2 || k == -3) {
        rc = k == -2 ? lp_fail(err, LP_EUNAVAILABLE, "the file could not be read (%s)", strerror(errno))
                     : lp_fail(err, LP_EVALIDATION, "line %lld holds a record longer than %d MiB; the import stopped there", line, RECORD_MAX >> 20);
        end = 2;
        break;
      }
      recs[n] = (rec){cells, k, line, ++row};
      for (int i = 0; i < k; i++) bytes += strlen(cells[i]);
      n++;
      if (k < 0) { end = 1; break; }  /* the rest of the file is one unclosed quote: that row fails, the import ends */
    }
    if (n > 0 && end != 2) {
      c.recs = recs;
      c.nrecs = n;
      c.offset_after = rd.off + (int64_t)rd.pos;
      c.lines_after = rd.lines;
      c.now = lp_clock_now();
      rc = lp_store_write(s, chunk_fn, &c, err);
      if (rc == LP_OK) {
        c.done0 += n;
        c.created0 = c.created, c.updated0 = c.updated, c.skipped0 = c.skipped, c.failed0 = c.failed;
        c.errors0 = json_array_size(c.errors);
      } else {
        end = 2;
      }
    }
    recs_free(recs, n);
  }
  free(recs);
  free(rd.buf);
  close(fd);
  free(country);
  if (rc != LP_OK) {
    /* tried again from the checkpoint (a database outage), or stopped: keep the checkpoint as the result */
    job->result = c.result ? json_deep_copy(c.result) : NULL;
    if (rc != LP_EUNAVAILABLE && rc != LP_ECONFLICT) upload_done(s, job, file, 0, 1, NULL);
    json_decref(c.errors);
    json_decref(c.result);
    return rc;
  }
  job->result = json_pack("{s:i, s:i, s:i, s:i, s:i, s:b, s:O, s:I}", dry ? "would_create" : "created", c.created0,
                          dry ? "would_update" : "updated", c.updated0, dry ? "would_skip" : "skipped", c.skipped0, "failed", c.failed0,
                          "rows", c.done0, "dry_run", dry, "errors", c.errors, "upload_id",
                          (json_int_t)json_integer_value(json_object_get(pl, "upload_id")));
  json_t *summary = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i}", "job_id", (json_int_t)job->id, "rows", c.done0, "created", c.created0,
                              "updated", c.updated0, "skipped", c.skipped0, "failed", c.failed0);
  upload_done(s, job, file, dry, once, summary);
  json_decref(summary);
  json_decref(c.errors);
  json_decref(c.result);
  lp_import_spool_clean(s, now);
  return LP_OK;
}
