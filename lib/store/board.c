/* board.c — the pipeline board (GET /api/v1/leads/board): open leads in stage columns, each
 * column with its count, its value and its first cards.
 *
 * Counts are kept, not scanned. `board_counts` holds one row per (owner, stage, source, currency)
 * of open leads: how many and their value. A change hook of the applier (installed for every
 * store, like the report counters) moves a lead between rows in the same transaction as every
 * change — create, import, update, stage move, close, reopen, delete, merge — so the board's
 * figures for the filters it offers (owner, source) read a few hundred rows whatever the number
 * of leads. A search (`q`) cannot be kept: then the figures are counted over the search's matches
 * (the full-text index narrows them first) with the list's own WHERE (store/leadlist.c).
 * The cards of each column are the list's first page for that stage (the list's keyset paging;
 * its next_cursor continues with GET /leads?stage=...), read through the index on
 * (stage_id, status, created_at, id) or (owner_id, stage_id, status, created_at, id).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "store/apply.h"
#include "store/board.h"
#include "store/leads.h"
#include "store/rows.h"
#include "util/valid.h"
#include "util/buf.h"

#define BOARD_LIMIT_DEFAULT 20
#define BOARD_LIMIT_MAX 100

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int is_set(json_t *o, const char *k) { json_t *v = json_object_get(o, k); return v && !json_is_null(v); }

/* ---------------------------------------------------------------- the hook */

typedef struct { int64_t owner, stage, source; const char *currency; int64_t n, value; } cell;

static int cell_cmp(const cell *a, const cell *b) {
  if (a->owner != b->owner) return a->owner < b->owner ? -1 : 1;
  if (a->stage != b->stage) return a->stage < b->stage ? -1 : 1;
  if (a->source != b->source) return a->source < b->source ? -1 : 1;
  return strcmp(a->currency, b->currency);
}

/* The cell an open lead counts in; 0 when it counts nowhere (closed, deleted, none). */
static int cell_of(json_t *lead, int sign, cell *c) {
  if (!lead || is_set(lead, "deleted_at")) return 0;
  if (sget(lead, "status") && strcmp(sget(lead, "status"), "open")) return 0;  /* a create may leave it to the default */
  *c = (cell){iget(lead, "owner_id"), iget(lead, "stage_id"), iget(lead, "source_id"),
              sget(lead, "currency") ? sget(lead, "currency") : "", sign, sign * iget(lead, "value_cents")};
  return 1;
}

static const char *const counted[] = {"status", "deleted_at", "owner_id", "stage_id", "source_id", "currency", "value_cents"};

static lp_code upsert(lp_db *db, const cell *c, lp_err *err) {
  lp_stmt *st = lp_db_prep_static(db,
      "INSERT INTO board_counts(owner_id, stage_id, source_id, currency, n, value_cents) VALUES ($1, $2, $3, $4, $5, $6)"
      " ON CONFLICT(owner_id, stage_id, source_id, currency) DO UPDATE SET n = board_counts.n + excluded.n,"
      " value_cents = board_counts.value_cents + excluded.value_cents", err);
  if (!st) return err->code;
  lp_bind_int(st, 1, c->owner);
  lp_bind_int(st, 2, c->stage);
  lp_bind_int(st, 3, c->source);
  lp_bind_text(st, 4, c->currency);
  lp_bind_int(st, 5, c->n);
  lp_bind_int(st, 6, c->value);
  lp_code rc = lp_step(st, err) < 0 ? err->code : LP_OK;
  lp_stmt_done(st);
  return rc;
}

static lp_code board_hook(lp_db *db, const lp_change *c, void *ctx, lp_err *err) {
  (void)ctx;
  const lp_plan *plan = c->plan;
  if (!lp_change_touches(c, counted, sizeof counted / sizeof *counted)) return LP_OK;
  json_t *after = lp_change_after(c);
  cell cs[2];
  int n = 0;
  if (plan->kind != LP_PLAN_CREATE) n += cell_of(c->before, -1, &cs[n]);
  n += cell_of(after, 1, &cs[n]);
  if (n == 2 && !cell_cmp(&cs[0], &cs[1])) {  /* the same cell: only the value may move */
    cs[0].n += cs[1].n;
    cs[0].value += cs[1].value;
    n = cs[0].value ? 1 : 0;
  } else if (n == 2 && cell_cmp(&cs[0], &cs[1]) > 0) {  /* one order for row locks (PostgreSQL) */
    cell t = cs[0];
    cs[0] = cs[1];
    cs[1] = t;
  }
  lp_code rc = LP_OK;
  for (int i = 0; i < n && rc == LP_OK; i++) rc = upsert(db, &cs[i], err);
  json_decref(after);
  return rc;
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static void install(void) { lp_apply_hook_add(board_hook, NULL); }
void lp_board_install(void) { pthread_once(&install_once, install); }

/* ---------------------------------------------------------------- the board */

typedef struct {
  lp_param_fn get;
  void *ctx;
  char stage[24], limit[8];
} col_ctx;

/* What the list sees for one column: the caller's owner, source and search; open leads of the stage. */
static const char *col_get(void *p, const char *name) {
  col_ctx *c = p;
  if (!strcmp(name, "status")) return "open";
  if (!strcmp(name, "stage")) return c->stage[0] ? c->stage : NULL;
  if (!strcmp(name, "limit")) return c->limit;
  if (!strcmp(name, "sort")) return "-created_at";
  if (!strcmp(name, "owner") || !strcmp(name, "source") || !strcmp(name, "q")) return c->get(c->ctx, name);
  return NULL;
}

/* Figures from the kept rows: rows {stage_id, currency, n, value_cents} (sums cast: PostgreSQL's SUM of a bigint is numeric). */
static lp_code kept_figures(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, json_t **rows, lp_err *err) {
  lp_buf sql = LP_BUF_INIT(4096);
  json_t *params = json_array();
  lp_buf_puts(&sql, "SELECT stage_id, currency, CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(value_cents) AS BIGINT) AS value_cents"
                  " FROM board_counts WHERE n <> 0");
  const char *owner = get(ctx, "owner") ? get(ctx, "owner") : "me";
  int64_t id;
  if (!strcmp(owner, "me")) { json_array_append_new(params, json_integer(a->id)); lp_buf_printf(&sql, " AND owner_id = $%zu", json_array_size(params)); }
  else if (!strcmp(owner, "none")) lp_buf_puts(&sql, " AND owner_id = 0");
  else if (strcmp(owner, "any") && lp_parse_id(owner, &id) == 0) { json_array_append_new(params, json_integer(id)); lp_buf_printf(&sql, " AND owner_id = $%zu", json_array_size(params)); }
  if (a->view == LP_VIEW_OWN) { json_array_append_new(params, json_integer(a->id)); lp_buf_printf(&sql, " AND owner_id = $%zu", json_array_size(params)); }
  else if (a->view == LP_VIEW_TEAM) {
    json_array_append_new(params, json_integer(a->id));
    size_t n = json_array_size(params);
    lp_buf_printf(&sql, " AND (owner_id = $%zu OR owner_id IN (SELECT id FROM users WHERE manager_id = $%zu))", n, n);
  }
  const char *source = get(ctx, "source");
  if (source && !strcmp(source, "none")) lp_buf_puts(&sql, " AND source_id = 0");
  else if (source && lp_parse_id(source, &id) == 0) { json_array_append_new(params, json_integer(id)); lp_buf_printf(&sql, " AND source_id = $%zu", json_array_size(params)); }
  lp_buf_puts(&sql, " GROUP BY stage_id, currency");
  *rows = lp_query(db, lp_buf_str(&sql), params, err);
  lp_buf_release(&sql);
  json_decref(params);
  return *rows ? LP_OK : err->code;
}

/* Figures counted over the leads the list's filters select (a search). */
static lp_code matched_figures(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, json_t **rows, lp_err *err) {
  col_ctx cc = {get, ctx, "", "1"};
  lp_buf where = LP_BUF_INIT(1 << 16);
  json_t *params = json_array();
  *rows = NULL;
  if (lp__lead_where(db, a, col_get, &cc, now, &where, params, err) == 0) {
    lp_buf sql = LP_BUF_INIT(1 << 16);
    lp_buf_printf(&sql, "SELECT COALESCE(stage_id, 0) AS stage_id, COALESCE(currency, '') AS currency, count(*) AS n,"
                        " CAST(COALESCE(SUM(value_cents), 0) AS BIGINT) AS value_cents FROM leads WHERE %s GROUP BY stage_id, currency",
                  lp_buf_str(&where));
    *rows = lp_query(db, lp_buf_str(&sql), params, err);
    lp_buf_release(&sql);
  }
  lp_buf_release(&where);
  json_decref(params);
  return *rows ? LP_OK : err->code;
}

json_t *lp_lead_board(lp_db *db, const lp_actor *a, lp_param_fn get, void *ctx, int64_t now, lp_err *err) {
  /* The parameters, checked once (the list checks them again for each column). */
  const char *owner = get(ctx, "owner"), *source = get(ctx, "source"), *q = get(ctx, "q"), *ls = get(ctx, "limit");
  int64_t id;
  if (owner && strcmp(owner, "me") && strcmp(owner, "any") && strcmp(owner, "none") && lp_parse_id(owner, &id) != 0)
    lp_fail_field(err, "owner", "must be me, any, none or a user id");
  if (source && strcmp(source, "none") && lp_parse_id(source, &id) != 0) lp_fail_field(err, "source", "must be a source id or none");
  long limit = BOARD_LIMIT_DEFAULT;
  if (ls) {
    char *end;
    limit = strtol(ls, &end, 10);
    if (*end || limit < 1 || limit > BOARD_LIMIT_MAX) lp_fail_field(err, "limit", "must be 1 to 100");
  }
  if (err->code != LP_OK) return NULL;
  int search = q && *q;
  json_t *figs = NULL;
  if ((search ? matched_figures(db, a, get, ctx, now, &figs, err) : kept_figures(db, a, get, ctx, &figs, err)) != LP_OK) return NULL;
  json_t *stages = lp_query(db, "SELECT id, name, is_sale, waiting FROM stages WHERE active = 1 ORDER BY position, id", NULL, err);
  if (!stages) { json_decref(figs); return NULL; }
  json_t *cols = json_array();
  size_t i, j;
  json_t *s, *f;
  json_array_foreach(stages, i, s) {
    int64_t sid = iget(s, "id");
    int64_t count = 0, value = 0;
    json_t *values = json_array();
    json_array_foreach(figs, j, f) {
      if (iget(f, "stage_id") != sid || !iget(f, "n")) continue;
      count += iget(f, "n");
      value += iget(f, "value_cents");
      const char *cur = sget(f, "currency");
      json_array_append_new(values, json_pack("{s:s?, s:I, s:I}", "currency", cur && *cur ? cur : NULL,
                                              "count", (json_int_t)iget(f, "n"), "value_cents", (json_int_t)iget(f, "value_cents")));
    }
    col_ctx cc = {get, ctx, "", ""};
    snprintf(cc.stage, sizeof cc.stage, "%lld", (long long)sid);
    snprintf(cc.limit, sizeof cc.limit, "%ld", limit);
    json_t *page = count ? lp_lead_list(db, a, col_get, &cc, now, err) : json_pack("{s:[], s:n}", "items", "next_cursor");
    if (!page) { json_decref(values); json_decref(cols); cols = NULL; break; }
    json_array_append_new(cols, json_pack("{s:I, s:O, s:b, s:b, s:I, s:I, s:o, s:O, s:O}", "stage_id", (json_int_t)sid,
                                          "name", json_object_get(s, "name"), "is_sale", (int)iget(s, "is_sale"),
                                          "waiting", (int)iget(s, "waiting"), "count", (json_int_t)count,
                                          "value_cents", (json_int_t)value, "values", values,
                                          "items", json_object_get(page, "items"), "next_cursor", json_object_get(page, "next_cursor")));
    json_decref(page);
  }
  json_decref(stages);
  json_decref(figs);
  if (!cols) return NULL;
  return json_pack("{s:o, s:s}", "columns", cols, "counted", search ? "matched" : "kept");
}
