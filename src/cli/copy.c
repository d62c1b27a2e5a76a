/* copy.c — `leadpath copy --from URL --to URL`: every row of one database into another, engines
 * either way (the move from SQLite to PostgreSQL, and back). Both are migrated to this binary's
 * schema first, so their tables have the same columns; the target must hold no leads and no users.
 * Rows keep their ids: leads, history, tasks, comments, approvals, notifications, conversations
 * (threads, messages, templates), tokens and sessions, lists, settings, webhooks and queued jobs arrive as they were. Rows go 5,000 per
 * transaction through lp_db_bulk_insert (COPY into PostgreSQL), then the target's generated ids
 * move past the copied ones and its address rows, where it keeps them, are made from the leads. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "store/leads.h"
#include "store/rows.h"
#include "util/buf.h"

/* In the order their references need. users first without their manager (a manager may come
 * later in id order), set again at the end. */
static const struct { const char *table, *select; } tables[] = {
  {"roles", NULL}, {"users", NULL}, {"contact_groups", NULL}, {"stages", NULL}, {"outcomes", NULL},
  {"lost_reasons", NULL}, {"sources", NULL}, {"locations", NULL}, {"partners", NULL}, {"settings", NULL},
  {"leads", NULL}, {"lead_groups", NULL},
  {"leads_fts", "SELECT rowid, body FROM leads_fts"},  /* PostgreSQL computes its tsvector itself */
  {"tasks", NULL}, {"events", NULL}, {"approvals", NULL}, {"notifications", NULL}, {"threads", NULL},
  {"messages", NULL}, {"templates", NULL}, {"sessions", NULL}, {"webhooks", NULL}, {"jobs", NULL}, {"sweep_state", NULL},
};
#define BATCH 5000

typedef struct {
  const char *table;
  int ncols;
  char cols[64][64];
  lp_buf text;            /* the rows in COPY's text format (lp_db_bulk_insert) */
} batch_ctx;

static lp_code flush_fn(lp_db *db, void *p, lp_err *err) {
  batch_ctx *c = p;
  const char *cols[64];
  for (int i = 0; i < c->ncols; i++) cols[i] = c->cols[i];
  return lp_db_bulk_insert(db, c->table, cols, c->ncols, c->text.data, c->text.len, err);
}

/* Copies one table; returns the rows copied or -1 (message printed). */
static long copy_table(lp_store *from, lp_store *to, const char *table, const char *select) {
  lp_err err = LP_ERR_INIT;
  lp_db *src = lp_store_reader(from, &err);
  char q[256];
  snprintf(q, sizeof q, "%s", select ? select : "");
  if (!select) snprintf(q, sizeof q, "SELECT * FROM %s", table);
  lp_stmt *st = src ? lp_db_prep(src, q, &err) : NULL;
  if (!st) { fprintf(stderr, "leadpath: reading %s: %s\n", table, err.message); lp_err_release(&err); return -1; }
  batch_ctx c = {table, 0, {{0}}, LP_BUF_INIT((size_t)1 << 31)};
  long n = 0, in_batch = 0;
  int rc, mgr = -1;
  while ((rc = lp_step(st, &err)) == 1) {
    if (!c.ncols) {
      c.ncols = lp_col_count(st);
      if (c.ncols > 64) c.ncols = 64;
      for (int i = 0; i < c.ncols; i++) {
        snprintf(c.cols[i], sizeof c.cols[i], "%s", lp_col_name(st, i));
        if (!strcmp(table, "users") && !strcmp(c.cols[i], "manager_id")) mgr = i;
      }
    }
    for (int i = 0; i < c.ncols; i++) {
      int t = i == mgr ? LP_COL_NULL : lp_col_type(st, i);
      if (i) lp_buf_add(&c.text, "\t", 1);
      if (t == LP_COL_NULL) lp_buf_add(&c.text, "\\N", 2);
      else if (t == LP_COL_INT) lp_buf_printf(&c.text, "%lld", (long long)lp_col_int(st, i));
      else if (t == LP_COL_REAL) lp_buf_printf(&c.text, "%.17g", lp_col_double(st, i));
      else lp_copy_text(&c.text, lp_col_text(st, i));
    }
    lp_buf_add(&c.text, "\n", 1);
    n++;
    if (++in_batch == BATCH) {
      if (lp_store_write_direct(to, flush_fn, &c, &err) != LP_OK) { rc = -1; break; }
      lp_buf_reset(&c.text);
      in_batch = 0;
    }
  }
  lp_stmt_done(st);
  if (rc == 0 && in_batch && lp_store_write_direct(to, flush_fn, &c, &err) != LP_OK) rc = -1;
  if (rc < 0) fprintf(stderr, "leadpath: copying %s: %s\n", table, err.message);
  lp_buf_release(&c.text);
  lp_err_release(&err);
  return rc < 0 ? -1 : n;
}

/* The seeded rows of a freshly migrated target make way for the source's. */
static lp_code clear_fn(lp_db *db, void *p, lp_err *err) {
  static const char *seeded[] = {"settings", "lost_reasons", "contact_groups", "outcomes", "stages", "roles",
                                 "sources", "locations", "partners", "sweep_state", "templates"};
  for (size_t i = 0; i < sizeof seeded / sizeof *seeded; i++) {
    char q[96];
    snprintf(q, sizeof q, "DELETE FROM %s", seeded[i]);
    if (lp_exec(db, q, NULL, err) != LP_OK) return err->code;
  }
  return LP_OK;
}

typedef struct { lp_store *from; } finish_ctx;

/* Managers, then every generated id past the copied ones, and the address rows. */
static lp_code finish_fn(lp_db *db, void *p, lp_err *err) {
  finish_ctx *c = p;
  lp_err e = LP_ERR_INIT;
  lp_db *src = lp_store_reader(c->from, &e);
  json_t *m = src ? lp_query(src, "SELECT id, manager_id FROM users WHERE manager_id IS NOT NULL", NULL, &e) : NULL;
  lp_err_release(&e);
  if (!m) return lp_fail(err, LP_EUNAVAILABLE, "could not read the managers");
  size_t i;
  json_t *r;
  lp_code rc = LP_OK;
  json_array_foreach(m, i, r) {
    json_t *args = json_pack("[O, O]", json_object_get(r, "manager_id"), json_object_get(r, "id"));
    rc = lp_exec(db, "UPDATE users SET manager_id = $1 WHERE id = $2", args, err);
    json_decref(args);
    if (rc != LP_OK) break;
  }
  json_decref(m);
  if (rc != LP_OK) return rc;
  if ((rc = lp_db_contacts_rebuild(db, err)) != LP_OK) return rc;
  for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
    const char *name = tables[t].table;
    if (!strcmp(name, "settings") || !strcmp(name, "lead_groups") || !strcmp(name, "leads_fts") ||
        !strcmp(name, "sweep_state"))
      continue;  /* no id column of their own */
    if ((rc = lp_db_ids_follow(db, name, err)) != LP_OK) return rc;
  }
  return LP_OK;
}

int cmd_copy(lp_opts *o) {
  if (!o->from || !o->to) { fprintf(stderr, "leadpath: usage: leadpath copy --from URL --to URL\n"); return 2; }
  lp_opts src = *o, dst = *o;
  src.db = o->from;
  dst.db = o->to;
  lp_store *from = lp_cli_open(&src);
  if (!from) return 1;
  lp_store *to = lp_cli_open(&dst);
  if (!to) { lp_store_close(from); return 1; }
  int rc = 1;
  lp_err err = LP_ERR_INIT;
  lp_db *t = lp_store_reader(to, &err);
  int64_t busy = t ? lp_query_int(t, "SELECT (SELECT count(*) FROM leads) + (SELECT count(*) FROM users)", NULL, -1, &err) : -1;
  if (busy != 0) {
    fprintf(stderr, "leadpath: %s\n", busy < 0 ? err.message : "the target already has leads or users; copy into an empty database");
    goto out;
  }
  /* SQLite keeps some search entries for later (lp_lead_index_sync): write them first. */
  if (lp_lead_index_sync(from, 0, &err) != LP_OK) { fprintf(stderr, "leadpath: %s\n", err.message); goto out; }
  if (lp_store_write_direct(to, clear_fn, NULL, &err) != LP_OK) { fprintf(stderr, "leadpath: %s\n", err.message); goto out; }
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
    long n = copy_table(from, to, tables[i].table, tables[i].select);
    if (n < 0) goto out;
    printf("%-16s %ld\n", tables[i].table, n);
    fflush(stdout);
  }
  finish_ctx f = {from};
  if (lp_store_write_direct(to, finish_fn, &f, &err) != LP_OK) { fprintf(stderr, "leadpath: %s\n", err.message); goto out; }
  printf("copied %s to %s\n", o->from, o->to);
  rc = 0;
out:
  lp_err_release(&err);
  lp_store_close(to);
  lp_store_close(from);
  return rc;
}
