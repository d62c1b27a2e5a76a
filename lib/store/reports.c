/* reports.c — report counters (kept by a change hook of the applier) and the outcome and
 * lost-reason reports read from them. See reports.h for the shape of report_counts.
 *
 * Why this shape (figures in docs/reports.md and the branch report): a wide row of every
 * dimension per day would hold about one row per lead (1M leads: ~1M rows to read for a two-year
 * report); one dimension per row keeps a period's rows to owners x values x outcomes, and the
 * 32-day blocks keep a two-year range to ~23 blocks plus at most 62 edge days. The primary key
 * starts with (grain, kind, period): the rows of one change sit on a few pages (see migrate.c). Each change adds
 * its differences to its write's part of a db.h summary (counts_kind below); the backend writes the
 * transaction's netted rows once before COMMIT (SQLite: one flush per group commit) as multi-row
 * UPSERTs (6 rows a statement, the most 64 parameters take; sorted so that concurrent writers on
 * PostgreSQL take row locks in the same order); a change that touches no counted column adds nothing.
 * Cost (bench/reports-cost.sh, 100k leads): what dominates is not statements but pages — at this size
 * report_counts holds ~10 rows per lead, a close's 42 cells land on ~15 pages spread over the lead's
 * created day and block, and each dirty page is a WAL write at commit; netting a group commit's
 * cells saves little there (see the branch report for figures and the key order that helps).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "store/reports.h"
#include "store/rows.h"
#include "util/valid.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define NDIMS 7
enum { DIM_ALL, DIM_SOURCE, DIM_LOCATION, DIM_PARTNER, DIM_COUNTRY, DIM_SERVICE, DIM_STAGE };
static const char *const dim_cols[NDIMS] = {NULL, "source_id", "location_id", "partner_id", "country", "service", "stage_id"};

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- the hook */

typedef struct {
  int dim, kind, grain;
  int64_t period;
  const char *key_s;   /* text key (borrowed from the row), or NULL: key_i is the key (0: none) */
  int64_t key_i;
  int64_t owner, reason;
  const char *outcome; /* borrowed; "" while open */
  int64_t n, value;
} cell;

#define MAX_CELLS (2 * 3 * 2 * NDIMS)

static int is_set(json_t *o, const char *k) { json_t *v = json_object_get(o, k); return v && !json_is_null(v); }

/* The lead's counted state: the cells it adds (sign +1) or takes away (-1). */
static void contribute(json_t *lead, int sign, cell *cells, int *nc) {
  if (!lead || is_set(lead, "deleted_at")) return;
  int closed = sget(lead, "status") && !strcmp(sget(lead, "status"), "closed");
  const char *outcome = closed && sget(lead, "outcome") ? sget(lead, "outcome") : "";
  int64_t t[3] = {is_set(lead, "created_at") ? iget(lead, "created_at") : -1,
                  closed && is_set(lead, "closed_at") ? iget(lead, "closed_at") : -1,
                  is_set(lead, "sold_at") ? iget(lead, "sold_at") : -1};
  int64_t value = iget(lead, "value_cents");
  for (int kind = 0; kind < 3; kind++) {
    if (t[kind] < 0) continue;
    int64_t day = t[kind] / 86400;
    for (int grain = 0; grain < 2; grain++)
      for (int d = 0; d < NDIMS; d++) {
        cell *c = &cells[(*nc)++];
        *c = (cell){d, kind, grain, grain ? day / LP_REPORT_BLOCK_DAYS : day, NULL, 0, iget(lead, "owner_id"),
                    iget(lead, "lost_reason_id"), outcome, sign, sign * value};
        if (d == DIM_COUNTRY || d == DIM_SERVICE) c->key_s = sget(lead, dim_cols[d]) ? sget(lead, dim_cols[d]) : "";
        else if (d != DIM_ALL) c->key_i = iget(lead, dim_cols[d]);
      }
  }
}

/* ---------------------------------------------------------------- a part: netted cells in memory
 * What one write (or one transaction: db.h, summaries) adds to report_counts, keyed like its
 * primary key: open addressing over an array of entries whose key and outcome texts sit in one
 * arena. Emptying keeps the memory, so a writer connection's parts stop allocating after a while. */
typedef struct {
  uint64_t h;
  int64_t period, owner, reason, n, value;
  int dim, kind, grain;
  size_t text;          /* offset in the arena: key, NUL, outcome, NUL */
} centry;
typedef struct {
  centry *e;
  size_t n, cap;
  uint32_t *slot;       /* entry index + 1, 0 empty; nslot a power of two, at most half full */
  size_t nslot;
  char *arena;
  size_t alen, acap;
} cpart;

static void *part_make(void) { return calloc(1, sizeof(cpart)); }

static void part_clear(void *p) {
  cpart *c = p;
  if (c->n) memset(c->slot, 0, c->nslot * sizeof *c->slot);
  c->n = 0;
  c->alen = 0;
}

static void part_drop(void *p) {
  cpart *c = p;
  if (!c) return;
  free(c->e); free(c->slot); free(c->arena); free(c);
}

static uint64_t mix(uint64_t h, uint64_t v) { h ^= v; h *= 0x100000001b3ULL; return h ^ (h >> 29); }
static uint64_t str_hash(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h * 0x9e3779b97f4a7c15ULL;
}

static const char *ekey(const cpart *c, const centry *e) { return c->arena + e->text; }
static const char *eoutcome(const cpart *c, const centry *e) { const char *k = ekey(c, e); return k + strlen(k) + 1; }

static int grow_slots(cpart *c) {
  size_t ns = c->nslot ? c->nslot * 2 : 256;
  uint32_t *sl = calloc(ns, sizeof *sl);
  if (!sl) return -1;
  for (size_t i = 0; i < c->n; i++) {
    size_t j = c->e[i].h & (ns - 1);
    while (sl[j]) j = (j + 1) & (ns - 1);
    sl[j] = (uint32_t)i + 1;
  }
  free(c->slot);
  c->slot = sl;
  c->nslot = ns;
  return 0;
}

/* Adds n and value to the cell; 0, or -1 out of memory. */
static int part_add(cpart *c, int dim, int kind, int grain, int64_t period, const char *key, int64_t owner,
                    int64_t reason, const char *outcome, int64_t n, int64_t value) {
  uint64_t h = mix(mix(mix(mix(mix(mix(0xcbf29ce484222325ULL, (uint64_t)(dim | kind << 4 | grain << 8)), (uint64_t)period),
                                   (uint64_t)owner), (uint64_t)reason), str_hash(1, key)), str_hash(2, outcome));
  if ((c->n + 1) * 2 > c->nslot && grow_slots(c) != 0) return -1;
  size_t j = h & (c->nslot - 1);
  for (; c->slot[j]; j = (j + 1) & (c->nslot - 1)) {
    centry *e = &c->e[c->slot[j] - 1];
    if (e->h == h && e->dim == dim && e->kind == kind && e->grain == grain && e->period == period && e->owner == owner &&
        e->reason == reason && !strcmp(ekey(c, e), key) && !strcmp(eoutcome(c, e), outcome)) {
      e->n += n;
      e->value += value;
      return 0;
    }
  }
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 128;
    centry *ne = realloc(c->e, cap * sizeof *ne);
    if (!ne) return -1;
    c->e = ne;
    c->cap = cap;
  }
  size_t kl = strlen(key) + 1, ol = strlen(outcome) + 1;
  if (c->alen + kl + ol > c->acap) {
    size_t cap = c->acap ? c->acap : 4096;
    while (cap < c->alen + kl + ol) cap *= 2;
    char *na = realloc(c->arena, cap);
    if (!na) return -1;
    c->arena = na;
    c->acap = cap;
  }
  memcpy(c->arena + c->alen, key, kl);
  memcpy(c->arena + c->alen + kl, outcome, ol);
  c->e[c->n] = (centry){h, period, owner, reason, n, value, dim, kind, grain, c->alen};
  c->alen += kl + ol;
  c->slot[j] = (uint32_t)++c->n;
  return 0;
}

static int part_merge(void *into, const void *from) {
  cpart *a = into;
  const cpart *b = from;
  for (size_t i = 0; i < b->n; i++) {
    const centry *e = &b->e[i];
    if ((e->n || e->value) && part_add(a, e->dim, e->kind, e->grain, e->period, ekey(b, e), e->owner, e->reason,
                                       eoutcome(b, e), e->n, e->value) != 0)
      return -1;
  }
  return 0;
}

/* The primary key's order (grain, kind, period, dim, key, owner, reason, outcome): rows that sit
 * together are written together, and concurrent writers on PostgreSQL take row locks in one order. */
static const cpart *sort_part;
static int entry_cmp(const void *pa, const void *pb) {
  const centry *a = &sort_part->e[*(const uint32_t *)pa], *b = &sort_part->e[*(const uint32_t *)pb];
  if (a->grain != b->grain) return a->grain - b->grain;
  if (a->kind != b->kind) return a->kind - b->kind;
  if (a->period != b->period) return a->period < b->period ? -1 : 1;
  if (a->dim != b->dim) return a->dim - b->dim;
  int c = strcmp(ekey(sort_part, a), ekey(sort_part, b));
  if (c) return c;
  if (a->owner != b->owner) return a->owner < b->owner ? -1 : 1;
  if (a->reason != b->reason) return a->reason < b->reason ? -1 : 1;
  return strcmp(eoutcome(sort_part, a), eoutcome(sort_part, b));
}
static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;  /* qsort has no context argument */

/* The UPSERT of m rows, made once for each m up to ROWS_PER_STMT (statements take at most 64
 * parameters, db.h). */
#define ROWS_PER_STMT 6
static char *upsert_sql[ROWS_PER_STMT + 1];
static pthread_once_t upsert_once = PTHREAD_ONCE_INIT;
static void upsert_make(void) {
  for (int m = 1; m <= ROWS_PER_STMT; m++) {
    lp_buf b = LP_BUF_INIT(1 << 16);
    lp_buf_puts(&b, "INSERT INTO report_counts(dim, kind, grain, period, key, owner_id, reason_id, outcome, n, value_cents) VALUES ");
    for (int i = 0; i < m; i++) {
      int p = i * 10;
      lp_buf_printf(&b, "%s($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", i ? ", " : "", p + 1, p + 2, p + 3, p + 4,
                    p + 5, p + 6, p + 7, p + 8, p + 9, p + 10);
    }
    lp_buf_puts(&b, " ON CONFLICT(grain, kind, period, dim, key, owner_id, reason_id, outcome) DO UPDATE SET"
                    " n = report_counts.n + excluded.n, value_cents = report_counts.value_cents + excluded.value_cents");
    upsert_sql[m] = strdup(b.data);
    lp_buf_release(&b);
  }
}

/* Writes the part's non-zero cells: one UPSERT per ROWS_PER_STMT distinct rows. */
static lp_code part_flush(lp_db *db, const void *p, lp_err *err) {
  const cpart *c = p;
  if (!c->n) return LP_OK;
  uint32_t *ix = malloc(c->n * sizeof *ix);
  if (!ix) return lp_fail(err, LP_EUNAVAILABLE, "out of memory writing report counters");
  size_t m = 0;
  for (size_t i = 0; i < c->n; i++) if (c->e[i].n || c->e[i].value) ix[m++] = (uint32_t)i;
  pthread_mutex_lock(&sort_mu);
  sort_part = c;
  qsort(ix, m, sizeof *ix, entry_cmp);
  pthread_mutex_unlock(&sort_mu);
  lp_code rc = LP_OK;
  if (m) pthread_once(&upsert_once, upsert_make);
  for (size_t at = 0; at < m && rc == LP_OK; at += ROWS_PER_STMT) {
    int k = m - at < ROWS_PER_STMT ? (int)(m - at) : ROWS_PER_STMT;
    lp_stmt *st = lp_db_prep_static(db, upsert_sql[k], err);
    if (!st) { rc = err->code; break; }
    for (int i = 0; i < k; i++) {
      const centry *x = &c->e[ix[at + (size_t)i]];
      int q = i * 10;
      lp_bind_int(st, q + 1, x->dim);
      lp_bind_int(st, q + 2, x->kind);
      lp_bind_int(st, q + 3, x->grain);
      lp_bind_int(st, q + 4, x->period);
      lp_bind_text(st, q + 5, ekey(c, x));
      lp_bind_int(st, q + 6, x->owner);
      lp_bind_int(st, q + 7, x->reason);
      lp_bind_text(st, q + 8, eoutcome(c, x));
      lp_bind_int(st, q + 9, x->n);
      lp_bind_int(st, q + 10, x->value);
    }
    if (lp_step(st, err) < 0) rc = err->code;
    lp_stmt_done(st);
  }
  free(ix);
  return rc;
}

/* report_counts as a summary of db.h: the cells of every change of a transaction, netted, written
 * once before its COMMIT. */
static const lp_summary_kind counts_kind = {part_make, part_merge, part_flush, part_clear, part_drop};

/* The columns whose change moves a lead between cells. */
static const char *const counted[] = {"status", "outcome", "lost_reason_id", "closed_at", "sold_at", "created_at",
                                       "deleted_at", "owner_id", "source_id", "location_id", "partner_id", "country",
                                       "service", "stage_id", "value_cents"};

lp_code lp_reports_hook(lp_db *db, const lp_change *c, void *ctx, lp_err *err) {
  (void)ctx;
  const lp_plan *plan = c->plan;
  if (!lp_change_touches(c, counted, sizeof counted / sizeof *counted)) return LP_OK;
  json_t *after = lp_change_after(c);
  cell cells[MAX_CELLS];
  int nc = 0;
  if (plan->kind != LP_PLAN_CREATE) contribute(c->before, -1, cells, &nc);
  contribute(after, 1, cells, &nc);
  /* Into the write's part (written at commit, with every other change of the transaction), or,
   * outside a write of the store (a test's own transaction), into one of our own written now. */
  cpart *part = lp_db_summary(db, &counts_kind), *own = NULL;
  if (!part) part = own = part_make();
  lp_code rc = part ? LP_OK : lp_fail(err, LP_EUNAVAILABLE, "out of memory keeping report counters");
  for (int i = 0; i < nc && rc == LP_OK; i++) {
    const cell *x = &cells[i];
    char num[24];
    const char *key = x->key_s;
    if (!key) {
      if (x->key_i) snprintf(num, sizeof num, "%lld", (long long)x->key_i);
      else num[0] = 0;
      key = num;
    }
    if (part_add(part, x->dim, x->kind, x->grain, x->period, key, x->owner, x->reason, x->outcome, x->n, x->value) != 0)
      rc = lp_fail(err, LP_EUNAVAILABLE, "out of memory keeping report counters");
  }
  if (own) {
    if (rc == LP_OK) rc = part_flush(db, own, err);
    part_drop(own);
  }
  json_decref(after);
  return rc;
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
#ifdef LP_REPORTS_NO_HOOK  /* only for bench/reports-cost.sh: a binary keeping no counters, to measure their cost */
static void install(void) {}
#else
static void install(void) { lp_apply_hook_add(lp_reports_hook, NULL); }
#endif
void lp_reports_install(void) { pthread_once(&install_once, install); }

/* ---------------------------------------------------------------- rebuild */

#define KEPT_COLS "dim, kind, grain, period, key, owner_id, reason_id, outcome, n, value_cents"
static const char differ_sql[] =
  "SELECT (SELECT count(*) FROM (SELECT * FROM (" LP_REPORT_RECOMPUTE_SQL ") r1 EXCEPT SELECT " KEPT_COLS
  " FROM report_counts WHERE n <> 0 OR value_cents <> 0) a) + (SELECT count(*) FROM (SELECT " KEPT_COLS
  " FROM report_counts WHERE n <> 0 OR value_cents <> 0 EXCEPT SELECT * FROM (" LP_REPORT_RECOMPUTE_SQL ") r2) b)";

typedef struct { int fix; int64_t differ; } rebuild_ctx;

static lp_code rebuild_fn(lp_db *db, void *p, lp_err *err) {
  rebuild_ctx *c = p;
  /* Inside a write, what earlier writes of the transaction counted is not written yet (db.h,
   * summaries): write it first, so that the rows compared or replaced are whole. */
  if (c->fix && lp_db_summary_flush(db, &counts_kind, err) != LP_OK) return err->code;
  c->differ = lp_query_int(db, differ_sql, NULL, 0, err);
  if (err->code != LP_OK) return err->code;
  if (!c->fix) return LP_OK;
  lp_code rc = lp_db_exec(db, "DELETE FROM report_counts", err);
  if (rc == LP_OK)
    rc = lp_db_exec(db, "INSERT INTO report_counts(" KEPT_COLS ") SELECT * FROM (" LP_REPORT_RECOMPUTE_SQL ") r", err);
  return rc;
}

lp_code lp_reports_rebuild(lp_store *s, int fix, int64_t *differ, lp_err *err) {
  rebuild_ctx c = {fix, 0};
  lp_code rc;
  if (fix) rc = lp_store_write(s, rebuild_fn, &c, err);
  else {
    lp_db *db = lp_store_reader(s, err);
    if (!db) return err->code;
    int begun = lp_read_begin(db, err) == LP_OK;
    rc = rebuild_fn(db, &c, err);
    if (begun) lp_read_end(db);
  }
  *differ = c.differ;
  return rc;
}

/* ---------------------------------------------------------------- reading */

typedef struct { int64_t d1, d2; } range;

/* from/to: dates (YYYY-MM-DD) or RFC 3339 times, both days included; default the last 30 days. */
static int parse_range(lp_report_param_fn get, void *ctx, int64_t now, range *r, lp_err *err) {
  int64_t t;
  r->d2 = now / 86400;
  r->d1 = r->d2 - 29;
  const char *f = get(ctx, "from"), *to = get(ctx, "to");
  if (to) {
    if (lp_time_parse(to, &t) != 0) return lp_fail_field(err, "to", "must be a date (YYYY-MM-DD) or an RFC 3339 time"), -1;
    r->d2 = t / 86400;
    if (!f) r->d1 = r->d2 - 29;
  }
  if (f) {
    if (lp_time_parse(f, &t) != 0) return lp_fail_field(err, "from", "must be a date (YYYY-MM-DD) or an RFC 3339 time"), -1;
    r->d1 = t / 86400;
  }
  if (r->d1 > r->d2) return lp_fail_field(err, "from", "must not be after to"), -1;
  if (r->d2 - r->d1 > 366 * 20) return lp_fail_field(err, "from", "the range may span at most 20 years"), -1;
  return 0;
}

static void day_text(int64_t day, char out[11]) {
  char t[LP_TIME_LEN];
  lp_time_format(day * 86400, t);
  memcpy(out, t, 10);
  out[10] = 0;
}

/* "FROM (...) rc WHERE 1 = 1" over the rows of dimension $1, kind $2 in [d1, d2]: whole blocks,
 * then the edge days, each part a range of the primary key (dim, kind, grain, period). Adds the
 * bounds to args. */
static void from_sql(lp_buf *b, json_t *args, range r) {
  int64_t b1 = (r.d1 + LP_REPORT_BLOCK_DAYS - 1) / LP_REPORT_BLOCK_DAYS, b2 = (r.d2 + 1) / LP_REPORT_BLOCK_DAYS - 1;
  int64_t parts[3][3];
  int np = 0;
  if (b1 <= b2) {
    parts[np][0] = 1; parts[np][1] = b1; parts[np++][2] = b2;
    if (r.d1 <= b1 * LP_REPORT_BLOCK_DAYS - 1) { parts[np][0] = 0; parts[np][1] = r.d1; parts[np++][2] = b1 * LP_REPORT_BLOCK_DAYS - 1; }
    if ((b2 + 1) * LP_REPORT_BLOCK_DAYS <= r.d2) { parts[np][0] = 0; parts[np][1] = (b2 + 1) * LP_REPORT_BLOCK_DAYS; parts[np++][2] = r.d2; }
  } else {
    parts[np][0] = 0; parts[np][1] = r.d1; parts[np++][2] = r.d2;
  }
  lp_buf_puts(b, "FROM (");
  for (int i = 0; i < np; i++) {
    int n = (int)json_array_size(args);
    lp_buf_printf(b, "%sSELECT key, owner_id, reason_id, outcome, n, value_cents FROM report_counts"
                     " WHERE dim = $1 AND kind = $2 AND grain = %d AND period BETWEEN $%d AND $%d",
                  i ? " UNION ALL " : "", (int)parts[i][0], n + 1, n + 2);
    json_array_append_new(args, json_integer(parts[i][1]));
    json_array_append_new(args, json_integer(parts[i][2]));
  }
  lp_buf_puts(b, ") rc WHERE 1 = 1");
}

static const struct { const char *name; int dim; const char *col; const char *filter; } groups[] = {
  {"source", DIM_SOURCE, "key", "source"}, {"location", DIM_LOCATION, "key", "location"},
  {"partner", DIM_PARTNER, "key", "partner"}, {"country", DIM_COUNTRY, "key", "country"},
  {"service", DIM_SERVICE, "key", "service"}, {"stage", DIM_STAGE, "key", "stage"},
  {"owner", DIM_ALL, "owner_id", "owner"}, {"team", DIM_ALL, "owner_id", "team"},
  {"lost_reason", DIM_ALL, "reason_id", "lost_reason"}};
#define NGROUPS (sizeof groups / sizeof *groups)

static const char *const date_kinds[] = {"created", "closed", "sold"};

typedef struct {
  int g;                 /* index in groups */
  int kind;
  json_t *args;
  lp_buf where;          /* the conditions after the range */
} query;
/* The conditions every report shares: who (the caller's leads.view and the owner filter), the
 * lost reason filter, the dimension's own value filter, and the reasons left out of reports. */
static int build_filters(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, query *q, lp_err *err) {
  (void)db;
  int n;
  if (a->view == LP_VIEW_OWN) {
    n = (int)json_array_size(q->args) + 1;
    lp_buf_printf(&q->where, " AND owner_id = $%d", n);
    json_array_append_new(q->args, json_integer(a->id));
  } else if (a->view == LP_VIEW_TEAM) {
    n = (int)json_array_size(q->args) + 1;
    lp_buf_printf(&q->where, " AND (owner_id = $%d OR owner_id IN (SELECT id FROM users WHERE manager_id = $%d))", n, n);
    json_array_append_new(q->args, json_integer(a->id));
  }
  const char *owner = get(ctx, "owner");
  int64_t id;
  if (owner && strcmp(owner, "any")) {
    n = (int)json_array_size(q->args) + 1;
    if (!strcmp(owner, "me")) id = a->id;
    else if (!strcmp(owner, "none")) id = 0;
    else if (lp_parse_id(owner, &id) != 0) return lp_fail_field(err, "owner", "must be me, any, none or a user id"), -1;
    lp_buf_printf(&q->where, " AND owner_id = $%d", n);
    json_array_append_new(q->args, json_integer(id));
  }
  const char *team = get(ctx, "team");
  if (team) {
    if (lp_parse_id(team, &id) != 0) return lp_fail_field(err, "team", "must be a manager's user id"), -1;
    n = (int)json_array_size(q->args) + 1;
    lp_buf_printf(&q->where, " AND (owner_id = $%d OR owner_id IN (SELECT id FROM users WHERE manager_id = $%d))", n, n);
    json_array_append_new(q->args, json_integer(id));
  }
  const char *reason = get(ctx, "lost_reason");
  if (reason) {
    if (!strcmp(reason, "none")) id = 0;
    else if (lp_parse_id(reason, &id) != 0) return lp_fail_field(err, "lost_reason", "must be an id or none"), -1;
    n = (int)json_array_size(q->args) + 1;
    lp_buf_printf(&q->where, " AND reason_id = $%d", n);
    json_array_append_new(q->args, json_integer(id));
  }
  /* Filters on the other dimensions: only the dimension read has them. */
  for (size_t i = 0; i < NGROUPS; i++) {
    if (groups[i].dim == DIM_ALL) continue;
    const char *v = get(ctx, groups[i].filter);
    if (!v) continue;
    if ((int)i != q->g) {
      lp_fail_field(err, groups[i].filter, "filters by this dimension work with group_by of the same dimension, owner, team or lost_reason filters");
      return -1;
    }
    if (strcmp(v, "none") && groups[i].dim != DIM_COUNTRY && groups[i].dim != DIM_SERVICE && lp_parse_id(v, &id) != 0)
      return lp_fail_field(err, groups[i].filter, "must be an id or none"), -1;
    n = (int)json_array_size(q->args) + 1;
    lp_buf_printf(&q->where, " AND key = $%d", n);
    json_array_append_new(q->args, json_string(!strcmp(v, "none") ? "" : v));
  }
  lp_buf_puts(&q->where, " AND reason_id NOT IN (SELECT id FROM lost_reasons WHERE counts_in_reports = 0)");
  return 0;
}

/* Runs sql (columns: group key, outcome, n, value) and sums n and value by key and outcome here:
 * SQLite's GROUP BY sorts the rows first (15 ms for the 20,000 rows of a two-year report by source
 * over 100k leads), a hash of the few groups takes 2. Answers rows {k, outcome, n, v}. */
static json_t *sum_rows(lp_db *db, const char *sql, json_t *args, lp_err *err) {
  lp_stmt *st = lp_db_prep(db, sql, err);
  if (!st) return NULL;
  for (size_t i = 0; i < json_array_size(args); i++) lp_bind_json(st, (int)i + 1, json_array_get(args, i));
  json_t *index = json_object(), *rows = json_array();
  lp_buf key = LP_BUF_INIT(1 << 16);
  int rc;
  while ((rc = lp_step(st, err)) == 1) {
    const char *k = lp_col_text(st, 0), *oc = lp_col_text(st, 1);
    lp_buf_reset(&key);
    lp_buf_printf(&key, "%s\x1f%s", k ? k : "", oc ? oc : "");
    json_t *r = json_object_get(index, key.data);
    if (!r) {
      r = json_pack("{s:s, s:s, s:I, s:I}", "k", k ? k : "", "outcome", oc ? oc : "", "n", (json_int_t)0, "v", (json_int_t)0);
      json_object_set_new(index, key.data, r);
      json_array_append(rows, r);
    }
    json_integer_set(json_object_get(r, "n"), json_integer_value(json_object_get(r, "n")) + lp_col_int(st, 2));
    json_integer_set(json_object_get(r, "v"), json_integer_value(json_object_get(r, "v")) + lp_col_int(st, 3));
  }
  lp_stmt_done(st);
  lp_buf_release(&key);
  json_decref(index);
  if (rc < 0) { json_decref(rows); return NULL; }
  return rows;
}

/* Rows {k, outcome, n, v} of the report's dimension over range r, grouped by the group key. */
static json_t *read_counts(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, int g, int kind, range r,
                           const char *extra, lp_err *err) {
  query q = {g, kind, json_array(), LP_BUF_INIT(1 << 16)};
  lp_buf sql = LP_BUF_INIT(1 << 16);
  json_array_append_new(q.args, json_integer(groups[g].dim));
  json_array_append_new(q.args, json_integer(kind));
  lp_buf_printf(&sql, "SELECT CAST(%s AS TEXT) AS k, outcome, n, value_cents ", groups[g].col);
  from_sql(&sql, q.args, r);
  json_t *rows = NULL;
  if (build_filters(db, a, get, ctx, &q, err) == 0) {
    lp_buf_add(&sql, q.where.data, q.where.len);
    if (extra) lp_buf_puts(&sql, extra);
    rows = sum_rows(db, sql.data, q.args, err);
  }
  lp_buf_release(&sql);
  lp_buf_release(&q.where);
  json_decref(q.args);
  return rows;
}

/* outcome key -> kind (won, lost, neutral). */
static json_t *outcome_kinds(lp_db *db, lp_err *err) {
  return lp_query_map(db, "SELECT key, kind FROM outcomes", "key", "kind", NULL, err);
}

/* The labels of a group's keys: list names, user names, team names ("Team of …"). */
static json_t *labels_for(lp_db *db, const char *group, lp_err *err) {
  static const struct { const char *group, *sql; } q[] = {
    {"source", "SELECT CAST(id AS TEXT) AS k, name FROM sources"},
    {"location", "SELECT CAST(id AS TEXT) AS k, name FROM locations"},
    {"partner", "SELECT CAST(id AS TEXT) AS k, name FROM partners"},
    {"stage", "SELECT CAST(id AS TEXT) AS k, name FROM stages"},
    {"lost_reason", "SELECT CAST(id AS TEXT) AS k, name FROM lost_reasons"},
    {"owner", "SELECT CAST(id AS TEXT) AS k, name FROM users"},
    {"team", "SELECT CAST(id AS TEXT) AS k, name FROM users"}};
  json_t *m = json_object();
  for (size_t i = 0; i < sizeof q / sizeof *q; i++)
    if (!strcmp(q[i].group, group)) lp_query_map(db, q[i].sql, "k", "name", m, err);
  return m;
}

/* owner id (text) -> their team's key: the manager's id, or their own when they have none. */
static json_t *teams_of(lp_db *db, lp_err *err) {
  return lp_query_map(db, "SELECT CAST(id AS TEXT) AS k, CAST(COALESCE(manager_id, id) AS TEXT) AS team FROM users", "k", "team",
                      NULL, err);
}

/* Key as the report answers it: "" and "0" (none) -> "". */
static const char *norm_key(const char *k) { return !k || !strcmp(k, "0") ? "" : k; }

typedef struct { int64_t open, won, lost, neutral, value_won; } tally;

static json_t *tally_json(const tally *t) {
  int64_t decided = t->won + t->lost;
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "open", (json_int_t)t->open, "won", (json_int_t)t->won,
                   "lost", (json_int_t)t->lost, "neutral", (json_int_t)t->neutral, "total",
                   (json_int_t)(t->open + t->won + t->lost + t->neutral), "win_rate",
                   decided ? json_real((double)t->won / (double)decided) : json_null(), "value_won_cents", (json_int_t)t->value_won);
}

/* Tallies rows into {group key: tally} (a malloc'd array per key held in a JSON object of
 * indexes, keys in first-seen order). */
typedef struct { json_t *index; char **keys; tally *t; size_t n, cap; } tallies;

static tally *tally_at(tallies *ts, const char *key) {
  json_t *ix = json_object_get(ts->index, key);
  if (ix) return &ts->t[json_integer_value(ix)];
  if (ts->n == ts->cap) {
    ts->cap = ts->cap ? ts->cap * 2 : 16;
    ts->keys = realloc(ts->keys, ts->cap * sizeof *ts->keys);
    ts->t = realloc(ts->t, ts->cap * sizeof *ts->t);
  }
  ts->keys[ts->n] = strdup(key);
  memset(&ts->t[ts->n], 0, sizeof *ts->t);
  json_object_set_new(ts->index, key, json_integer((json_int_t)ts->n));
  return &ts->t[ts->n++];
}

static void tallies_release(tallies *ts) {
  for (size_t i = 0; i < ts->n; i++) free(ts->keys[i]);
  free(ts->keys);
  free(ts->t);
  json_decref(ts->index);
}

static void tally_rows(json_t *rows, json_t *kinds, json_t *teams, tallies *ts, tally *total) {
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    const char *k = norm_key(sget(r, "k"));
    if (teams && *k) k = sget(teams, k) ? sget(teams, k) : k;
    tally *t = tally_at(ts, k);
    const char *oc = sget(r, "outcome") ? sget(r, "outcome") : "";
    const char *kind = *oc ? sget(kinds, oc) : "open";
    int64_t n = iget(r, "n"), v = iget(r, "v");
    for (int pass = 0; pass < 2; pass++) {
      tally *x = pass ? total : t;
      if (!kind || !strcmp(kind, "neutral")) x->neutral += n;
      else if (!strcmp(kind, "open")) x->open += n;
      else if (!strcmp(kind, "won")) { x->won += n; x->value_won += v; }
      else x->lost += n;
    }
  }
}

/* The leads-list filter behind a row: the parameters of GET /leads that select its leads. */
static json_t *drill(const char *group, const char *key, int kind, range r) {
  char d1[11], d2[11];
  day_text(r.d1, d1);
  day_text(r.d2, d2);
  json_t *f = json_pack("{s:s, s:s, s:s}", "status", kind == 1 ? "closed" : "all", "owner", "any", "in_reports", "1");
  static const char *const from[] = {"created_from", "closed_from", "sold_from"}, *const to[] = {"created_to", "closed_to", "sold_to"};
  json_object_set_new(f, from[kind], json_string(d1));
  json_object_set_new(f, to[kind], json_string(d2));
  if (group && key) json_object_set_new(f, group, json_string(*key ? key : "none"));
  return f;
}

static int find_group(const char *name) {
  for (size_t i = 0; i < NGROUPS; i++) if (!strcmp(groups[i].name, name)) return (int)i;
  return -1;
}

static int find_kind(const char *name) {
  for (int i = 0; i < 3; i++) if (!strcmp(date_kinds[i], name)) return i;
  return -1;
}

static json_t *range_json(range r) {
  char d1[11], d2[11];
  day_text(r.d1, d1);
  day_text(r.d2, d2);
  return json_pack("{s:s, s:s}", "from", d1, "to", d2);
}

/* ---------------------------------------------------------------- the trend (interval=) */

/* Days since 1970-01-01 <-> civil dates (proleptic Gregorian, H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
static void civil_from_days(int64_t z, int64_t *y, int64_t *m) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *m = mp + (mp < 10 ? 3 : -9);
  *y = yoe + era * 400 + (*m <= 2);
}
/* The first day of the period (0 day, 1 ISO week from Monday, 2 calendar month) holding day d,
 * and the first day of the next one. */
static int64_t period_start(int iv, int64_t d) {
  if (iv == 1) return d - ((d % 7 + 7 + 3) % 7);  /* 1970-01-01 was a Thursday */
  if (iv == 2) { int64_t y, m; civil_from_days(d, &y, &m); return days_from_civil(y, m, 1); }
  return d;
}
static int64_t period_next(int iv, int64_t start) {
  if (iv == 1) return start + 7;
  if (iv == 2) { int64_t y, m; civil_from_days(start, &y, &m); return m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1); }
  return start + 1;
}

#define MAX_POINTS 1000

/* The series: per period of the range, leads created (`new`) and leads closed by the kind of
 * their outcome (won, lost, neutral) with the value won, from the kept day counters of one
 * dimension (all, or the report's when its own filter is given), with the report's filters. */
static json_t *trend(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, int g, int iv, range r,
                     json_t *kinds, lp_err *err) {
  int64_t first = period_start(iv, r.d1);
  size_t np = 0;
  for (int64_t p = first; p <= r.d2 && np <= MAX_POINTS; p = period_next(iv, p)) np++;
  if (np > MAX_POINTS) { lp_fail_field(err, "interval", "too many points for this range (at most 1000): choose a longer interval"); return NULL; }
  int64_t *starts = calloc(np + 1, sizeof *starts);
  tally *pts = calloc(np + 1, sizeof *pts);
  int64_t *fresh = calloc(np + 1, sizeof *fresh);
  size_t i = 0;
  for (int64_t p = first; i < np; p = period_next(iv, p)) starts[i++] = p;
  starts[np] = period_next(iv, starts[np - 1]);
  const char *own = groups[g].dim != DIM_ALL ? get(ctx, groups[g].filter) : NULL;
  query q = {g, 0, json_array(), LP_BUF_INIT(1 << 16)};
  json_array_append_new(q.args, json_integer(own ? groups[g].dim : DIM_ALL));
  json_array_append_new(q.args, json_integer(r.d1));
  json_array_append_new(q.args, json_integer(r.d2));
  lp_buf sql = LP_BUF_INIT(1 << 16);
  lp_buf_puts(&sql, "SELECT kind, period, outcome, n, value_cents FROM report_counts"
                    " WHERE dim = $1 AND kind IN (0, 1) AND grain = 0 AND period BETWEEN $2 AND $3");
  int ok = 0;
  if (build_filters(db, a, get, ctx, &q, err) == 0) {
    lp_buf_add(&sql, q.where.data, q.where.len);
    lp_stmt *st = lp_db_prep(db, lp_buf_str(&sql), err);
    if (st) {
      for (size_t k = 0; k < json_array_size(q.args); k++) lp_bind_json(st, (int)k + 1, json_array_get(q.args, k));
      int rc;
      size_t at;
      while ((rc = lp_step(st, err)) == 1) {
        int64_t day = lp_col_int(st, 1);
        /* rows come in any order: find the period (binary search over the starts) */
        size_t lo = 0, hi = np;
        while (hi - lo > 1) { size_t mid = (lo + hi) / 2; if (starts[mid] <= day) lo = mid; else hi = mid; }
        at = lo;
        int64_t n = lp_col_int(st, 3), v = lp_col_int(st, 4);
        if (lp_col_int(st, 0) == 0) { fresh[at] += n; continue; }
        const char *oc = lp_col_text(st, 2);
        if (!oc || !*oc) continue;  /* closed-date rows are closed leads: always an outcome */
        const char *kind = sget(kinds, oc);
        if (kind && !strcmp(kind, "won")) { pts[at].won += n; pts[at].value_won += v; }
        else if (kind && !strcmp(kind, "lost")) pts[at].lost += n;
        else pts[at].neutral += n;
      }
      lp_stmt_done(st);
      ok = rc == 0;
    }
  }
  lp_buf_release(&sql);
  lp_buf_release(&q.where);
  json_decref(q.args);
  json_t *out = NULL;
  if (ok) {
    out = json_array();
    for (size_t k = 0; k < np; k++) {
      char d1[11], d2[11];
      day_text(starts[k] < r.d1 ? r.d1 : starts[k], d1);
      day_text(starts[k + 1] - 1 > r.d2 ? r.d2 : starts[k + 1] - 1, d2);
      json_array_append_new(out, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "from", d1, "to", d2,
                                           "new", (json_int_t)fresh[k], "won", (json_int_t)pts[k].won,
                                           "lost", (json_int_t)pts[k].lost, "neutral", (json_int_t)pts[k].neutral,
                                           "value_won_cents", (json_int_t)pts[k].value_won));
    }
  }
  free(starts);
  free(pts);
  free(fresh);
  return out;
}

json_t *lp_report_outcomes(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, int64_t now, lp_err *err) {
  const char *gb = get(ctx, "group_by") ? get(ctx, "group_by") : "source";
  const char *dk = get(ctx, "date") ? get(ctx, "date") : "created";
  const char *cmp = get(ctx, "compare");
  int g = find_group(gb), kind = find_kind(dk);
  range r;
  if (g < 0) lp_fail_field(err, "group_by", "must be source, owner, team, location, partner, country, service, stage or lost_reason");
  if (kind < 0) lp_fail_field(err, "date", "must be created, closed or sold");
  if (cmp && strcmp(cmp, "previous") && strcmp(cmp, "none")) lp_fail_field(err, "compare", "must be previous or none");
  const char *ivs = get(ctx, "interval");
  int iv = -1;
  if (ivs) {
    static const char *const names[] = {"day", "week", "month"};
    for (int i = 0; i < 3; i++) if (!strcmp(ivs, names[i])) iv = i;
    if (iv < 0) lp_fail_field(err, "interval", "must be day, week or month");
  }
  if (parse_range(get, ctx, now, &r, err) != 0 || err->code != LP_OK) return NULL;
  int compare = cmp && !strcmp(cmp, "previous");
  range pr = {r.d1 - (r.d2 - r.d1 + 1), r.d1 - 1};
  json_t *rows = read_counts(db, a, get, ctx, g, kind, r, NULL, err);
  json_t *prows = rows && compare ? read_counts(db, a, get, ctx, g, kind, pr, NULL, err) : NULL;
  if (!rows || (compare && !prows)) { json_decref(rows); return NULL; }
  json_t *kinds = outcome_kinds(db, err);
  json_t *series = iv >= 0 ? trend(db, a, get, ctx, g, iv, r, kinds, err) : NULL;
  if (iv >= 0 && !series) { json_decref(rows); json_decref(prows); json_decref(kinds); return NULL; }
  json_t *labels = labels_for(db, gb, err);
  json_t *teams = !strcmp(gb, "team") ? teams_of(db, err) : NULL;
  tallies cur = {json_object(), NULL, NULL, 0, 0}, prev = {json_object(), NULL, NULL, 0, 0};
  tally total = {0}, ptotal = {0};
  tally_rows(rows, kinds, teams, &cur, &total);
  if (prows) tally_rows(prows, kinds, teams, &prev, &ptotal);
  for (size_t i = 0; i < prev.n; i++) tally_at(&cur, prev.keys[i]);  /* a key seen only before: a row of zeros now */
  json_t *items = json_array();
  for (size_t i = 0; i < cur.n; i++) {
    const char *k = cur.keys[i];
    json_t *row = tally_json(&cur.t[i]);
    const char *label = sget(labels, k);
    char buf[160];
    if (!*k) label = !strcmp(gb, "owner") || !strcmp(gb, "team") ? "(no owner)" : !strcmp(gb, "lost_reason") ? "(no reason)" : "(none)";
    else if (!strcmp(gb, "team") && label) { snprintf(buf, sizeof buf, "Team of %s", label); label = buf; }
    json_object_set_new(row, "key", json_string(k));
    json_object_set_new(row, "label", json_string(label ? label : k));
    if (compare) {
      json_t *ix = json_object_get(prev.index, k);
      tally zero = {0};
      json_object_set_new(row, "previous", tally_json(ix ? &prev.t[json_integer_value(ix)] : &zero));
    }
    json_object_set_new(row, "leads", drill(groups[g].filter, k, kind, r));
    json_array_append_new(items, row);
  }
  /* biggest first, then by label */
  size_t n = json_array_size(items);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0; j--) {
      json_t *x = json_array_get(items, j - 1), *y = json_array_get(items, j);
      int64_t tx = iget(x, "total"), ty = iget(y, "total");
      if (tx > ty || (tx == ty && strcmp(sget(x, "label"), sget(y, "label")) <= 0)) break;
      json_incref(x);
      json_array_set(items, j - 1, y);
      json_array_set_new(items, j, x);
    }
  json_t *totals = tally_json(&total);
  if (compare) json_object_set_new(totals, "previous", tally_json(&ptotal));
  json_object_set_new(totals, "leads", drill(NULL, NULL, kind, r));
  json_t *out = json_pack("{s:s, s:s, s:o, s:o, s:o}", "group_by", gb, "date", dk, "range", range_json(r), "items", items,
                          "totals", totals);
  if (compare) json_object_set_new(out, "previous_range", range_json(pr));
  if (series) {
    json_object_set_new(out, "interval", json_string(ivs));
    json_object_set_new(out, "series", series);
  }
  tallies_release(&cur);
  tallies_release(&prev);
  json_decref(rows);
  json_decref(prows);
  json_decref(kinds);
  json_decref(labels);
  json_decref(teams);
  return out;
}

json_t *lp_report_lost_reasons(lp_db *db, const lp_actor *a, lp_report_param_fn get, void *ctx, int64_t now, lp_err *err) {
  const char *gb = get(ctx, "group_by");
  range r;
  if (gb && strcmp(gb, "owner") && strcmp(gb, "source")) lp_fail_field(err, "group_by", "must be owner or source");
  if (parse_range(get, ctx, now, &r, err) != 0 || err->code != LP_OK) return NULL;
  /* Lost leads by closed date, by reason (and by the group's key): the dimension read is the
   * group's (source) or all; the reason is on every row. */
  int g = find_group(gb && !strcmp(gb, "source") ? "source" : "lost_reason");
  const char *extra = " AND outcome IN (SELECT key FROM outcomes WHERE kind = 'lost')";
  lp_buf sql = LP_BUF_INIT(1 << 16);
  query q = {g, 1, json_array(), LP_BUF_INIT(1 << 16)};
  json_array_append_new(q.args, json_integer(groups[g].dim));
  json_array_append_new(q.args, json_integer(1));
  const char *gcol = gb ? (!strcmp(gb, "owner") ? "owner_id" : "key") : "''";
  lp_buf_printf(&sql, "SELECT CAST(%s AS TEXT) AS g, CAST(reason_id AS TEXT) AS reason, CAST(sum(n) AS BIGINT) AS n ", gcol);
  from_sql(&sql, q.args, r);
  json_t *rows = NULL;
  if (build_filters(db, a, get, ctx, &q, err) == 0) {
    lp_buf_add(&sql, q.where.data, q.where.len);
    lp_buf_printf(&sql, "%s GROUP BY %s%sreason_id", extra, gb ? gcol : "", gb ? ", " : "");
    rows = lp_query(db, sql.data, q.args, err);
  }
  lp_buf_release(&sql);
  lp_buf_release(&q.where);
  json_decref(q.args);
  if (!rows) return NULL;
  json_t *names = labels_for(db, "lost_reason", err);
  json_t *glabels = gb ? labels_for(db, gb, err) : NULL;
  /* totals per group for the shares */
  json_t *gtotal = json_object(), *gnone = json_object();
  size_t i;
  json_t *row;
  int64_t total = 0, none = 0;
  json_array_foreach(rows, i, row) {
    const char *gk = norm_key(sget(row, "g"));
    int64_t n = iget(row, "n");
    json_object_set_new(gtotal, gk, json_integer(iget(gtotal, gk) + n));
    total += n;
    if (!strcmp(norm_key(sget(row, "reason")), "")) {
      none += n;
      json_object_set_new(gnone, gk, json_integer(iget(gnone, gk) + n));
    }
  }
  json_t *items = json_array();
  json_array_foreach(rows, i, row) {
    const char *gk = norm_key(sget(row, "g")), *rk = norm_key(sget(row, "reason"));
    int64_t n = iget(row, "n");
    if (!*rk || !n) continue;
    int64_t den = iget(gtotal, gk);
    json_t *f = drill(gb ? groups[find_group(gb)].filter : NULL, gb ? gk : NULL, 1, r);
    json_object_set_new(f, "lost_reason", json_string(rk));
    json_object_set_new(f, "outcome_kind", json_string("lost"));
    json_t *it = json_pack("{s:I, s:s, s:I, s:f, s:o}", "reason_id", (json_int_t)strtoll(rk, NULL, 10), "name",
                           sget(names, rk) ? sget(names, rk) : rk, "count", (json_int_t)n, "share",
                           den ? (double)n / (double)den : 0.0, "leads", f);
    if (gb) {
      json_object_set_new(it, "key", json_string(gk));
      json_object_set_new(it, "label", json_string(*gk ? (sget(glabels, gk) ? sget(glabels, gk) : gk) : !strcmp(gb, "owner") ? "(no owner)" : "(none)"));
    }
    json_array_append_new(items, it);
  }
  /* by group, then by count, biggest first */
  size_t n = json_array_size(items);
  for (size_t x = 1; x < n; x++)
    for (size_t j = x; j > 0; j--) {
      json_t *p = json_array_get(items, j - 1), *c = json_array_get(items, j);
      int gc = gb ? strcmp(sget(p, "label"), sget(c, "label")) : 0;
      if (gc < 0 || (gc == 0 && iget(p, "count") >= iget(c, "count"))) break;
      json_incref(p);
      json_array_set(items, j - 1, c);
      json_array_set_new(items, j, p);
    }
  json_t *nf = drill(NULL, NULL, 1, r);
  json_object_set_new(nf, "lost_reason", json_string("none"));
  json_object_set_new(nf, "outcome_kind", json_string("lost"));
  json_t *out = json_pack("{s:o, s:o, s:I, s:I, s:o}", "range", range_json(r), "items", items, "lost", (json_int_t)total,
                          "no_reason", (json_int_t)none, "no_reason_leads", nf);
  if (gb) {
    json_object_set_new(out, "group_by", json_string(gb));
    json_object_set(out, "no_reason_by_group", gnone);
  }
  json_decref(gtotal);
  json_decref(gnone);
  json_decref(rows);
  json_decref(names);
  json_decref(glabels);
  return out;
}
