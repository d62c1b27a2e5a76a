/* fill.c — bulk loader for benchmarks: puts N leads straight into a leadpath SQLite database.
 *
 *   fill DB_PATH [N] [SEED]        (N defaults to 1,000,000)
 *
 * Build (bench/run.sh does this): the win model is lib/core/scoring.c itself, linked in:
 *   gcc -O2 -Ilib -Iinclude -o fill bench/fill.c lib/core/scoring.c lib/util/error.c -lsqlite3 -ljansson -lm
 *
 * The database must already exist with the schema (`leadpath migrate`) and its users (`leadpath
 * user add`); every non-admin user becomes a lead owner. The loader writes, for each lead,
 * exactly what the server's create path (lib/store/apply.c: the applier and its change hooks)
 * writes for a lead created with these columns:
 *   - a leads row (owner, stage 1-5, source 1-8, ~60% open, created over the last two years,
 *     emails/phones as JSON arrays, closed history with outcome / reason / closed_at / closed_by,
 *     sold_at for the sale stage, waiting_since for the waiting stage, stage_entered_at), with
 *     win_bp / win_factors for open leads as the scoring job leaves them (below);
 *   - a leads_fts row (rowid = lead id) in the search file beside the database (DB_PATH-search,
 *     made by `leadpath migrate`), whose body is built like fts_body() in leads.c: full_name,
 *     company, login, request, notes, close_notes, city, service (login and notes are left
 *     NULL), then the emails, the phones and each phone without its '+', one per line; and the
 *     index's state (fts_state) says it is complete;
 *   - the kept summaries the applier's hooks write with every change:
 *       lead_keys (store/related.c): 'e:' e-mail, 'p:' phone, 'c:' normalised company;
 *       lead_stage_spells and lead_losses (store/reports_flow.c, create hook): one stay in the
 *         lead's stage from created_at (ended at closed_at when closed), one loss per lead
 *         closed with an outcome of kind lost — what the migration's backfill derives from a
 *         lead without stage_changed/closed events;
 *       report_counts (store/reports.c): counted in C while loading (a hash of the rows of
 *         LP_REPORT_RECOMPUTE_SQL; that SQL itself costs ~80 s of CPU at 1M leads), written in
 *         primary-key order; `leadpath reports check` compares them with the recomputed ones;
 *       board_counts (store/board.c): the migration's own GROUP BY over the open leads;
 *   - the win model (store/scoring.c, the `scoring` job): trained with lp_nb_train from the
 *     closed history (the job's own query, run after the load; the tallies of a first pass over
 *     the same random draws give the same model before the load, checked equal), trained_at now,
 *     and each open lead's win_bp / win_factors as the job's walk writes them. So a server
 *     started on the database finds its scoring job with nothing to change (until the next UTC
 *     day, when it retrains on the same history), and every create pays the estimate as in
 *     production. Scoring rules stay off (the default): score is a random 0-99.
 * It does not write timeline events (the events table stays as it is). Leads already in the
 * database keep their win estimates (the server's hourly job refreshes them).
 *
 * Speed: journal off, synchronous off, exclusive lock and a large cache while loading; the
 * secondary indexes of leads, lead_stage_spells and lead_losses are dropped and recreated
 * afterwards from their own stored SQL (so the schema is byte-for-byte what migrate made). Then
 * journal_mode=WAL is restored. No ANALYZE is run: the server never runs it, so the query plans
 * measured are the ones a real deployment gets.
 */
#include <sqlite3.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/scoring.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rs;
static uint64_t rnd(void) {  /* xorshift64* */
  rs ^= rs >> 12; rs ^= rs << 25; rs ^= rs >> 27;
  return rs * 2685821657736338717ULL;
}
static unsigned rn(unsigned n) { return (unsigned)((rnd() >> 33) % n); }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static sqlite3 *db;
static void die(const char *what) {
  fprintf(stderr, "fill: %s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}
static void exec(const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "fill: %s\n  in: %.200s\n", msg ? msg : "?", sql);
    exit(1);
  }
}
static sqlite3_stmt *prep(const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die(sql);
  return st;
}
static void step_done(sqlite3_stmt *st, const char *what) {
  if (sqlite3_step(st) != SQLITE_DONE) die(what);
  sqlite3_reset(st);
}

static const char *first[] = {"Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Sofia", "Arthur",
  "Lucia", "Mateo", "Hannah", "Jonas", "Chloe", "Ethan", "Priya", "Ravi", "Yuki", "Kenji", "Fatima", "Omar", "Elena",
  "Marco", "Ingrid", "Lars", "Zoe", "Samuel", "Grace", "Daniel", "Aisha", "Tomás", "Freya", "Hugo", "Nina", "Felix",
  "Maya", "Oscar", "Lena", "Ibrahim"};
static const char *last[] = {"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
  "Wright", "Garcia", "Rossi", "Müller", "Schmidt", "Dubois", "Novak", "Kowalski", "Hansen", "Silva", "Murphy",
  "O'Brien", "Nakamura", "Khan", "Ahmed", "Costa", "Fischer", "Berg", "Evans", "Thomas", "Roberts", "Walker", "Hughes"};
static const char *companies[] = {"Northwind Roofing", "Bluebell Dental", "Harbour Cafe", "Summit Logistics",
  "Greenleaf Gardens", "Atlas Fitness", "Copperfield Legal", "Brightside Solar", "Maple & Co", "Riverbank Vets",
  "Oakridge Builders", "Pinecrest Hotels", "Silverline Taxis", "Kestrel Accountants", "Lighthouse Bakery"};
static const char *services[] = {"Solar panels", "Roof repair", "Kitchen fitting", "Heat pump", "Window cleaning",
  "Boiler service", "Loft conversion", "Driveway"};
static const char *cities[] = {"London", "Leeds", "Bristol", "Manchester", "Glasgow", "Cardiff", "York", "Brighton",
  "Norwich", "Belfast"};
static const char *requests[] = {
  "Would like a quote for the work before the end of the month.",
  "Saw your advert, please call me back in the evening.",
  "Comparing three suppliers; price and lead time matter most.",
  "Need someone to look at it this week if possible.",
  "Interested but want to know about financing options.",
  "Moving house in spring, planning ahead.",
  "Referred by a neighbour who was happy with your work.",
  "Please send a brochure and a rough price by email."};
/* Outcome keys with their kind (seeded by migration 2). */
static const struct { const char *key; int lost; } outcomes[] = {
  {"won", 0}, {"lost", 1}, {"converted", 0}, {"treated", 0}, {"passed_to_distribution", 0}, {"abandoned", 1},
  {"completed", 0}};
#define NEL(a) (sizeof a / sizeof *a)

static void lower_ascii(char *dst, const char *src, size_t n) {
  size_t j = 0;
  for (const unsigned char *p = (const unsigned char *)src; *p && j + 1 < n; p++) {
    if (*p >= 'A' && *p <= 'Z') dst[j++] = (char)(*p | 0x20);
    else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) dst[j++] = (char)*p;
    /* non-ASCII letters and punctuation are dropped from the address */
  }
  dst[j] = 0;
}

/* ---------------------------------------------------------------- one lead's draws */

typedef struct {
  int64_t id, created, updated, closed_at, sold_at, stage_entered, waiting_since, owner, value, created_by;
  const char *company, *city, *service, *request, *outcome, *notes;
  int oi, source, stage, open, reason, score, email_opt, sms_opt, nemail, nphone, svc;
  char name[128], email[2][160], phone[2][24], emails_json[400], phones_json[80];
} lead_t;

static int64_t owners[256];
static int nowners;
static int64_t admin_id;

/* Draws lead k of n (the same calls to the generator in the same order for the same seed: the
 * first pass and the load see the same leads). */
static void gen(lead_t *L, long long k, long long n, int64_t base_id, int64_t start, int64_t span, int64_t now) {
  L->id = base_id + 1 + k;
  /* ids follow creation time, as they do when leads arrive one by one */
  int64_t created = start + (int64_t)((double)span * (double)k / (double)n) + rn(600);
  if (created > now) created = now;
  L->created = created;
  int64_t age = now - created;
  const char *fn = first[rn(NEL(first))], *ln = last[rn(NEL(last))];
  snprintf(L->name, sizeof L->name, "%s %s", fn, ln);
  char lf[64], ll[64];
  lower_ascii(lf, fn, sizeof lf);
  lower_ascii(ll, ln, sizeof ll);
  L->nemail = rn(100) < 85 ? 1 : (rn(100) < 60 ? 2 : 0);
  L->nphone = rn(100) < 75 ? 1 : (rn(100) < 30 ? 2 : 0);
  static const char *domains[] = {"example.com", "example.org", "mail.example.net", "example.co.uk"};
  for (int e = 0; e < L->nemail; e++)
    snprintf(L->email[e], sizeof L->email[e], "%s.%s%s%lld@%s", lf, ll, e ? ".work" : "", (long long)L->id, domains[rn(NEL(domains))]);
  for (int p = 0; p < L->nphone; p++) snprintf(L->phone[p], sizeof L->phone[p], "+447700%06u", rn(1000000));
  size_t o = 0;
  o += (size_t)snprintf(L->emails_json + o, sizeof L->emails_json - o, "[");
  for (int e = 0; e < L->nemail; e++) o += (size_t)snprintf(L->emails_json + o, sizeof L->emails_json - o, "%s\"%s\"", e ? "," : "", L->email[e]);
  snprintf(L->emails_json + o, sizeof L->emails_json - o, "]");
  o = 0;
  o += (size_t)snprintf(L->phones_json + o, sizeof L->phones_json - o, "[");
  for (int p = 0; p < L->nphone; p++) o += (size_t)snprintf(L->phones_json + o, sizeof L->phones_json - o, "%s\"%s\"", p ? "," : "", L->phone[p]);
  snprintf(L->phones_json + o, sizeof L->phones_json - o, "]");

  L->oi = (int)rn((unsigned)nowners);
  L->owner = owners[L->oi];
  L->company = rn(100) < 55 ? companies[rn(NEL(companies))] : NULL;
  L->city = cities[rn(NEL(cities))];
  L->svc = (int)rn(NEL(services));
  L->service = services[L->svc];
  L->request = requests[rn(NEL(requests))];
  L->source = 1 + (int)rn(8);
  /* Old leads are mostly closed, recent ones mostly open: ~60% open overall. */
  L->open = rn(1000) < (unsigned)(age < 60 * 86400 ? 900 : 580);
  unsigned sr = rn(100);
  L->stage = sr < 35 ? 1 : sr < 60 ? 2 : sr < 75 ? 3 : sr < 92 ? 4 : 5;
  int64_t updated = created + (age > 0 ? (int64_t)rn((unsigned)(age < 90 * 86400 ? age : 90 * 86400) + 1) : 0);
  int64_t closed_at = 0, sold_at = 0, stage_entered = created + (L->stage > 1 ? (int64_t)rn(86400 * 3) : 0);
  if (stage_entered > now) stage_entered = now;
  if (L->stage == 5) sold_at = stage_entered;
  L->outcome = NULL;
  L->notes = NULL;
  L->reason = 0;
  if (!L->open) {
    int oc = (int)rn(NEL(outcomes));
    L->outcome = outcomes[oc].key;
    if (outcomes[oc].lost) { L->reason = 1 + (int)rn(8); L->notes = "Went quiet after the quote."; }
    else L->notes = rn(2) ? "Happy customer." : NULL;
    int64_t maxd = age / 86400 > 1 ? age / 86400 - 1 : 1;
    closed_at = created + (1 + (int64_t)rn((unsigned)(maxd < 120 ? maxd : 120))) * 86400;
    if (closed_at > now) closed_at = now;
    if (updated < closed_at) updated = closed_at;
  }
  if (updated > now) updated = now;
  L->updated = updated;
  L->closed_at = closed_at;
  L->sold_at = sold_at;
  L->stage_entered = stage_entered;
  L->waiting_since = (L->open && L->stage == 3) ? stage_entered : 0;
  L->value = 50000 + (int64_t)rn(2000000);
  L->score = (int)rn(100);
  L->email_opt = rn(100) < 3;
  L->sms_opt = rn(100) < 2;
  L->created_by = rn(100) < 70 ? L->owner : admin_id;
}

/* ---------------------------------------------------------------- report counters
 * One hash entry per row of report_counts (store/reports.h): the key packs, most significant
 * first, grain, kind, period, dim, key, owner, reason, outcome, so sorting the packed keys gives
 * the table's primary-key order (text keys and outcomes as ranks in byte order). */

static const char *ktext[64];   /* dimension values, sorted (byte order, as SQLite compares TEXT) */
static int nktext;
static const char *otext[16];   /* outcomes ('' while open), sorted */
static int notext;
static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }
static void add_text(const char **tab, int *n, const char *s) {
  for (int i = 0; i < *n; i++) if (!strcmp(tab[i], s)) return;
  tab[(*n)++] = s;
}
static int rank_of(const char **tab, int n, const char *s) {
  for (int i = 0; i < n; i++) if (!strcmp(tab[i], s)) return i;
  fprintf(stderr, "fill: no rank for '%s'\n", s);
  exit(1);
}

static uint64_t rkey(int grain, int kind, int64_t period, int dim, int krank, int64_t owner, int64_t reason, int orank) {
  return (uint64_t)grain << 61 | (uint64_t)kind << 59 | (uint64_t)period << 39 | (uint64_t)dim << 36 | (uint64_t)krank << 28 |
         (uint64_t)owner << 12 | (uint64_t)reason << 4 | (uint64_t)orank;
}

typedef struct { uint64_t k; int64_t n, v; } rc_cell;
static rc_cell *rc_tab;
static size_t rc_cap, rc_len;
static uint64_t mix(uint64_t x) {  /* splitmix64's finaliser */
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL; x ^= x >> 27; x *= 0x94d049bb133111ebULL; return x ^ (x >> 31);
}
static void rc_put(uint64_t k, int64_t n, int64_t v) {  /* k: the packed key + 1 (0 = empty slot) */
  size_t i = mix(k) & (rc_cap - 1);
  while (rc_tab[i].k && rc_tab[i].k != k) i = (i + 1) & (rc_cap - 1);
  if (!rc_tab[i].k) { rc_tab[i].k = k; rc_len++; }
  rc_tab[i].n += n;
  rc_tab[i].v += v;
}
static void rc_add(uint64_t key, int64_t v) {
  if ((rc_len + 1) * 2 > rc_cap) {
    rc_cell *old = rc_tab;
    size_t ocap = rc_cap;
    rc_cap = rc_cap ? rc_cap * 2 : (size_t)1 << 20;
    rc_tab = calloc(rc_cap, sizeof *rc_tab);
    if (!rc_tab) { fprintf(stderr, "fill: out of memory\n"); exit(1); }
    rc_len = 0;
    for (size_t i = 0; i < ocap; i++) if (old[i].k) rc_put(old[i].k, old[i].n, old[i].v);
    free(old);
  }
  rc_put(key + 1, 1, v);
}
static int cmp_cell(const void *a, const void *b) {
  uint64_t x = ((const rc_cell *)a)->k, y = ((const rc_cell *)b)->k;
  return (x > y) - (x < y);
}

/* ---------------------------------------------------------------- the win model (store/scoring.c) */

#define MIN_CLOSED 10  /* store/scoring.c */
static char src_text[9][8], owner_text[256][24];

/* The job's training query (train_fn in store/scoring.c) as lp_nb_rows (strings copied). */
static size_t history_rows(lp_nb_row **out) {
  sqlite3_stmt *st = prep(
      "SELECT l.source_id, l.location_id, l.service, l.country, l.owner_id, o.kind, count(*) AS n"
      " FROM leads l JOIN outcomes o ON o.key = l.outcome LEFT JOIN lost_reasons r ON r.id = l.lost_reason_id"
      " WHERE l.status = 'closed' AND l.deleted_at IS NULL AND o.kind IN ('won', 'lost') AND COALESCE(r.counts_in_reports, 1) = 1"
      " GROUP BY l.source_id, l.location_id, l.service, l.country, l.owner_id, o.kind");
  size_t n = 0, cap = 256;
  lp_nb_row *rows = calloc(cap, sizeof *rows);
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (n == cap) rows = realloc(rows, (cap *= 2) * sizeof *rows);
    static const int cols[LP_NB_FEATURES] = {0, 1, 2, 3, 4};
    memset(&rows[n], 0, sizeof rows[n]);
    for (int f = 0; f < LP_NB_FEATURES; f++) {
      const char *t = (const char *)sqlite3_column_text(st, cols[f]);  /* an id as text: "%lld" */
      rows[n].feat[f] = t ? strdup(t) : (f == 2 || f == 3 ? NULL : strdup(""));
    }
    const char *kind = (const char *)sqlite3_column_text(st, 5);
    rows[n].won = kind && !strcmp(kind, "won");
    rows[n].count = sqlite3_column_int64(st, 6);
    n++;
  }
  sqlite3_finalize(st);
  *out = rows;
  return n;
}
static void free_rows(lp_nb_row *rows, size_t n) {
  for (size_t i = 0; i < n; i++) for (int f = 0; f < LP_NB_FEATURES; f++) free((char *)rows[i].feat[f]);
  free(rows);
}

/* The labels the job adds to a model (add_labels in store/scoring.c). */
static void add_labels(json_t *labels, const char *feature, const char *sql) {
  sqlite3_stmt *st = prep(sql);
  json_t *tab = json_object();
  while (sqlite3_step(st) == SQLITE_ROW) {
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(st, 0));
    const char *name = (const char *)sqlite3_column_text(st, 1);
    if (name) json_object_set_new(tab, id, json_string(name));
  }
  sqlite3_finalize(st);
  json_object_set_new(labels, feature, tab);
}
static void label_model(json_t *model) {
  json_t *labels = json_object();
  add_labels(labels, "source", "SELECT id, name FROM sources");
  add_labels(labels, "location", "SELECT id, name FROM locations");
  add_labels(labels, "owner", "SELECT id, name FROM users");
  json_object_set_new(model, "labels", labels);
}


/* ---------------------------------------------------------------- main */

static void drop_indexes(const char *table, char **names, char **sqls, int *n, int max) {
  char q[256];
  snprintf(q, sizeof q, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '%s' AND sql IS NOT NULL ORDER BY rowid", table);
  sqlite3_stmt *st = prep(q);
  int from = *n;
  while (sqlite3_step(st) == SQLITE_ROW && *n < max) {
    names[*n] = strdup((const char *)sqlite3_column_text(st, 0));
    sqls[*n] = strdup((const char *)sqlite3_column_text(st, 1));
    (*n)++;
  }
  sqlite3_finalize(st);
  for (int i = from; i < *n; i++) {
    snprintf(q, sizeof q, "DROP INDEX \"%s\"", names[i]);
    exec(q);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: fill DB_PATH [N] [SEED]\n"); return 2; }
  const char *path = argv[1];
  long long n = argc > 2 ? atoll(argv[2]) : 1000000;
  rs = argc > 3 ? strtoull(argv[3], NULL, 10) : 0x9E3779B97F4A7C15ULL;
  if (!rs) rs = 1;
  if (n < 1) { fprintf(stderr, "fill: N must be at least 1\n"); return 2; }
  double t0 = now_s();
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) die("open");

  /* Owners: every active non-admin user; the admin is kept as the creator of last resort. */
  sqlite3_stmt *st = prep("SELECT u.id, r.name FROM users u JOIN roles r ON r.id = u.role_id WHERE u.active = 1 ORDER BY u.id");
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *role = (const char *)sqlite3_column_text(st, 1);
    if (!strcmp(role, "admin")) { if (!admin_id) admin_id = sqlite3_column_int64(st, 0); continue; }
    if (nowners < 256) owners[nowners++] = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  if (!nowners) { fprintf(stderr, "fill: no non-admin users to own leads; add users first\n"); return 1; }
  if (!admin_id) admin_id = owners[0];
  for (int i = 0; i < nowners; i++) {
    if (owners[i] >= 65536) { fprintf(stderr, "fill: owner ids must be below 65536\n"); return 1; }
    snprintf(owner_text[i], sizeof owner_text[i], "%lld", (long long)owners[i]);
  }
  for (int s = 1; s <= 8; s++) snprintf(src_text[s], sizeof src_text[s], "%d", s);
  sqlite3_stmt *cnt = prep("SELECT count(*), COALESCE(max(id), 0) FROM leads");
  sqlite3_step(cnt);
  long long have = sqlite3_column_int64(cnt, 0);
  int64_t base_id = sqlite3_column_int64(cnt, 1);
  sqlite3_finalize(cnt);
  if (have) fprintf(stderr, "fill: the database already has %lld leads; adding %lld more\n", have, n);

  /* What the outcomes are (won / lost / neutral) and which lost reasons count (store/scoring.c). */
  int okind[NEL(outcomes)];  /* 1 won, -1 lost, 0 neutral */
  for (size_t i = 0; i < NEL(outcomes); i++) {
    st = prep("SELECT kind FROM outcomes WHERE key = ?1");
    sqlite3_bind_text(st, 1, outcomes[i].key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) { fprintf(stderr, "fill: no outcome %s\n", outcomes[i].key); return 1; }
    const char *k = (const char *)sqlite3_column_text(st, 0);
    okind[i] = !strcmp(k, "won") ? 1 : !strcmp(k, "lost") ? -1 : 0;
    if ((okind[i] == -1) != outcomes[i].lost) { fprintf(stderr, "fill: outcome %s is of kind %s here\n", outcomes[i].key, k); return 1; }
    sqlite3_finalize(st);
  }
  int reason_counts[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};  /* LEFT JOIN: a reason that does not exist counts */
  st = prep("SELECT id, counts_in_reports FROM lost_reasons WHERE id BETWEEN 1 AND 8");
  while (sqlite3_step(st) == SQLITE_ROW) reason_counts[sqlite3_column_int(st, 0)] = sqlite3_column_int(st, 1) != 0;
  sqlite3_finalize(st);
  int64_t location_id = 1;
  const char *country = "GB";

  /* Report counter keys: every dimension value and outcome a lead can have, ranked. */
  add_text(ktext, &nktext, "");
  add_text(ktext, &nktext, country);
  char loc_text[24];
  snprintf(loc_text, sizeof loc_text, "%lld", (long long)location_id);
  add_text(ktext, &nktext, loc_text);
  for (int s = 1; s <= 8; s++) add_text(ktext, &nktext, src_text[s]);
  for (size_t s = 0; s < NEL(services); s++) add_text(ktext, &nktext, services[s]);
  qsort(ktext, (size_t)nktext, sizeof *ktext, cmp_str);
  add_text(otext, &notext, "");
  for (size_t i = 0; i < NEL(outcomes); i++) add_text(otext, &notext, outcomes[i].key);
  qsort(otext, (size_t)notext, sizeof *otext, cmp_str);
  int k_empty = rank_of(ktext, nktext, ""), k_country = rank_of(ktext, nktext, country), k_loc = rank_of(ktext, nktext, loc_text);
  int k_src[9], k_svc[NEL(services)], k_stage[6], o_rank[NEL(outcomes)], o_open = rank_of(otext, notext, "");
  for (int s = 1; s <= 8; s++) k_src[s] = rank_of(ktext, nktext, src_text[s]);
  for (int s = 1; s <= 5; s++) k_stage[s] = rank_of(ktext, nktext, src_text[s]);  /* stage ids 1-5 as text */
  for (size_t s = 0; s < NEL(services); s++) k_svc[s] = rank_of(ktext, nktext, services[s]);
  for (size_t i = 0; i < NEL(outcomes); i++) o_rank[i] = rank_of(otext, notext, outcomes[i].key);

  int64_t now = (int64_t)time(NULL);
  const int64_t span = 730LL * 86400;  /* two years */
  int64_t start = now - span;
  uint64_t seed = rs;
  lead_t L;

  /* First pass over the draws: the closed history the scoring job will train on (the leads
   * already here, then the new ones), so each new open lead gets its estimate as it is written. */
  double tm = now_s();
  lp_nb_row *hist;
  size_t nhist = history_rows(&hist);
  static int64_t tally[9][NEL(services)][256][2];
  for (long long k = 0; k < n; k++) {
    gen(&L, k, n, base_id, start, span, now);
    if (L.open) continue;
    int oc = 0;
    while (strcmp(outcomes[oc].key, L.outcome)) oc++;
    if (okind[oc] && (!L.reason || reason_counts[L.reason])) tally[L.source][L.svc][L.oi][okind[oc] > 0]++;
  }
  size_t nrows = nhist;
  lp_nb_row *rows = calloc(nhist + 9 * NEL(services) * (size_t)nowners * 2 + 1, sizeof *rows);
  memcpy(rows, hist, nhist * sizeof *hist);
  for (int s = 1; s <= 8; s++)
    for (size_t v = 0; v < NEL(services); v++)
      for (int o = 0; o < nowners; o++)
        for (int w = 0; w < 2; w++)
          if (tally[s][v][o][w])
            rows[nrows++] = (lp_nb_row){{src_text[s], loc_text, services[v], country, owner_text[o]}, w, tally[s][v][o][w]};
  json_t *model = lp_nb_train(rows, nrows, MIN_CLOSED);
  free(rows);
  free_rows(hist, nhist);
  if (model) label_model(model);
  /* Estimates by (source, service, owner): the features that vary here. */
  static int64_t est_bp[9][NEL(services)][256];
  static char *est_factors[9][NEL(services)][256];
  rs = seed;
  double tmodel = now_s() - tm;

  char q0[4200];
  if (strlen(path) > 4000) { fprintf(stderr, "fill: path too long\n"); return 2; }
  char *spath = sqlite3_mprintf("%s-search", path);
  char *quoted = sqlite3_mprintf("%Q", spath);
  snprintf(q0, sizeof q0, "ATTACH %s AS search", quoted);
  sqlite3_free(quoted);
  exec(q0);
  st = prep("SELECT count(*) FROM search.sqlite_master WHERE name = 'leads_fts'");
  sqlite3_step(st);
  if (!sqlite3_column_int(st, 0)) { fprintf(stderr, "fill: %s has no search index; run leadpath migrate first\n", spath); return 1; }
  sqlite3_finalize(st);
  sqlite3_free(spath);
  exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
       "PRAGMA search.journal_mode=OFF; PRAGMA search.synchronous=OFF; PRAGMA search.locking_mode=EXCLUSIVE;"
       "PRAGMA cache_size=-1048576; PRAGMA search.cache_size=-262144; PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF; PRAGMA threads=4;");

  /* Drop the secondary indexes of the bulk tables; keep their SQL to recreate them as they were. */
  char *idx_sql[64];
  char *idx_name[64];
  int nidx = 0;
  exec("BEGIN");
  drop_indexes("leads", idx_name, idx_sql, &nidx, 64);
  drop_indexes("lead_stage_spells", idx_name, idx_sql, &nidx, 64);
  drop_indexes("lead_losses", idx_name, idx_sql, &nidx, 64);

  sqlite3_stmt *ins = prep(
      "INSERT INTO leads(id, version, full_name, company, login, emails, phones, partner_id, location_id, owner_id,"
      " stage_id, source_id, country, region, city, service, request, value_cents, currency, score, last_contacted_at,"
      " email_opt_out, sms_opt_out, status, outcome, lost_reason_id, close_notes, closed_at, closed_by, sold_at,"
      " review_requested_at, created_at, updated_at, created_by, deleted_at, stage_entered_at, waiting_since, waiting_seconds,"
      " win_bp, win_factors)"
      " VALUES (?1, 1, ?2, ?3, NULL, ?4, ?5, NULL, ?29, ?6, ?7, ?8, ?30, NULL, ?9, ?10, ?11, ?12, 'GBP', ?13, ?14,"
      " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, NULL, ?24, ?25, ?26, NULL, ?27, ?28, 0, ?31, ?32)");
  sqlite3_stmt *fts = prep("INSERT INTO search.leads_fts(rowid, body) VALUES (?1, ?2)");
  sqlite3_stmt *spell = prep("INSERT INTO lead_stage_spells(lead_id, stage_id, entered_at, left_at, lead_created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  sqlite3_stmt *loss = prep("INSERT INTO lead_losses(lead_id, reason_id, lost_at) VALUES (?1, ?2, ?3)");

  long long opened = 0, nlosses = 0;
  double tl = now_s();
  for (long long k = 0; k < n; k++) {
    gen(&L, k, n, base_id, start, span, now);
    int oc = -1;
    if (!L.open) { oc = 0; while (strcmp(outcomes[oc].key, L.outcome)) oc++; }
    int64_t bp = -1;
    const char *factors = NULL;
    if (model && L.open) {
      if (!est_factors[L.source][L.svc][L.oi]) {
        const char *feat[LP_NB_FEATURES] = {src_text[L.source], loc_text, L.service, country, owner_text[L.oi]};
        est_bp[L.source][L.svc][L.oi] = lp_nb_estimate(model, feat, &est_factors[L.source][L.svc][L.oi]);
      }
      bp = est_bp[L.source][L.svc][L.oi];
      factors = est_factors[L.source][L.svc][L.oi];
    }

    sqlite3_bind_int64(ins, 1, L.id);
    sqlite3_bind_text(ins, 2, L.name, -1, SQLITE_STATIC);
    if (L.company) sqlite3_bind_text(ins, 3, L.company, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 3);
    sqlite3_bind_text(ins, 4, L.emails_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, L.phones_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 6, L.owner);
    sqlite3_bind_int(ins, 7, L.stage);
    sqlite3_bind_int(ins, 8, L.source);
    sqlite3_bind_text(ins, 9, L.city, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, L.service, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 11, L.request, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 12, L.value);
    sqlite3_bind_int(ins, 13, L.score);
    if (L.stage > 1) sqlite3_bind_int64(ins, 14, L.stage_entered); else sqlite3_bind_null(ins, 14);
    sqlite3_bind_int(ins, 15, L.email_opt);
    sqlite3_bind_int(ins, 16, L.sms_opt);
    sqlite3_bind_text(ins, 17, L.open ? "open" : "closed", -1, SQLITE_STATIC);
    if (L.outcome) sqlite3_bind_text(ins, 18, L.outcome, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 18);
    if (L.reason) sqlite3_bind_int(ins, 19, L.reason); else sqlite3_bind_null(ins, 19);
    if (L.notes) sqlite3_bind_text(ins, 20, L.notes, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 20);
    if (L.closed_at) { sqlite3_bind_int64(ins, 21, L.closed_at); sqlite3_bind_int64(ins, 22, L.owner); }
    else { sqlite3_bind_null(ins, 21); sqlite3_bind_null(ins, 22); }
    if (L.sold_at) sqlite3_bind_int64(ins, 23, L.sold_at); else sqlite3_bind_null(ins, 23);
    sqlite3_bind_int64(ins, 24, L.created);
    sqlite3_bind_int64(ins, 25, L.updated);
    sqlite3_bind_int64(ins, 26, L.created_by);
    sqlite3_bind_int64(ins, 27, L.stage_entered);
    if (L.waiting_since) sqlite3_bind_int64(ins, 28, L.waiting_since); else sqlite3_bind_null(ins, 28);
    sqlite3_bind_int64(ins, 29, location_id);
    sqlite3_bind_text(ins, 30, country, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 31, bp);
    if (factors) sqlite3_bind_text(ins, 32, factors, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 32);
    step_done(ins, "insert lead");

    /* The search body, line by line as index_lead() builds it (login and notes are NULL here). */
    char body[2048];
    size_t o = 0;
    const char *lines[] = {L.name, L.company, L.request, L.notes, L.city, L.service};
    for (size_t i = 0; i < NEL(lines); i++)
      if (lines[i]) o += (size_t)snprintf(body + o, sizeof body - o, "%s\n", lines[i]);
    for (int e = 0; e < L.nemail; e++) o += (size_t)snprintf(body + o, sizeof body - o, "%s\n", L.email[e]);
    for (int p = 0; p < L.nphone; p++) o += (size_t)snprintf(body + o, sizeof body - o, "%s\n%s\n", L.phone[p], L.phone[p] + 1);
    sqlite3_bind_int64(fts, 1, L.id);
    sqlite3_bind_text(fts, 2, body, (int)o, SQLITE_STATIC);
    step_done(fts, "insert fts");

    /* The stay in its stage and the loss (reports_flow.c's hook for a create). */
    sqlite3_bind_int64(spell, 1, L.id);
    sqlite3_bind_int(spell, 2, L.stage);
    sqlite3_bind_int64(spell, 3, L.created);
    if (!L.open) sqlite3_bind_int64(spell, 4, L.closed_at); else sqlite3_bind_null(spell, 4);
    sqlite3_bind_int64(spell, 5, L.created);
    step_done(spell, "insert spell");
    if (!L.open && okind[oc] < 0) {
      sqlite3_bind_int64(loss, 1, L.id);
      if (L.reason) sqlite3_bind_int(loss, 2, L.reason); else sqlite3_bind_null(loss, 2);
      sqlite3_bind_int64(loss, 3, L.closed_at);
      step_done(loss, "insert loss");
      nlosses++;
    }

    /* The report counters: kinds created / closed / sold, day and 32-day block, every dimension. */
    int dk[7] = {k_empty, k_src[L.source], k_loc, k_empty, k_country, k_svc[L.svc], k_stage[L.stage]};
    int64_t t[3] = {L.created, L.open ? -1 : L.closed_at, L.sold_at ? L.sold_at : -1};
    int orank = L.open ? o_open : o_rank[oc];
    for (int kind = 0; kind < 3; kind++) {
      if (t[kind] < 0) continue;
      for (int grain = 0; grain < 2; grain++) {
        int64_t period = t[kind] / 86400 / (grain ? 32 : 1);
        for (int dim = 0; dim < 7; dim++) rc_add(rkey(grain, kind, period, dim, dk[dim], L.owner, L.reason, orank), L.value);
      }
    }
    opened += L.open;

    if ((k + 1) % 200000 == 0) {
      exec("COMMIT; BEGIN");
      fprintf(stderr, "fill: %lld leads, %.1f s\n", k + 1, now_s() - t0);
    }
  }
  /* The index is complete: the log (of leads written by the server, if any) is read from its
   * start, no rebuild. */
  exec("INSERT OR IGNORE INTO search.fts_state(key, value) VALUES ('done', 0), ('rebuild', 0)");
  exec("COMMIT");
  sqlite3_finalize(ins);
  sqlite3_finalize(fts);
  sqlite3_finalize(spell);
  sqlite3_finalize(loss);
  double tload = now_s() - tl;

  double ti = now_s();
  exec("BEGIN");
  for (int i = 0; i < nidx; i++) { exec(idx_sql[i]); free(idx_sql[i]); free(idx_name[i]); }
  double tidx = now_s() - ti, tk = now_s();
  /* The exact keys (lead_keys: related leads, duplicates, inbound matching), as the server's
   * applier writes them with each lead (store/related.c). */
  exec("INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'e:' || j.value, l.id FROM leads l, json_each(l.emails) j"
       " WHERE l.deleted_at IS NULL AND j.type = 'text'");
  exec("INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'p:' || j.value, l.id FROM leads l, json_each(l.phones) j"
       " WHERE l.deleted_at IS NULL AND j.type = 'text'");
  exec("INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'c:' || lower(trim(company)), id FROM leads"
       " WHERE deleted_at IS NULL AND company IS NOT NULL AND trim(company) <> ''");
  double tkeys = now_s() - tk;

  /* The board's kept counts (store/board.c): the migration's own query, over the new leads. */
  double tb = now_s();
  char q[1024];
  snprintf(q, sizeof q,
           "INSERT INTO board_counts(owner_id, stage_id, source_id, currency, n, value_cents)"
           " SELECT * FROM (SELECT COALESCE(owner_id, 0), COALESCE(stage_id, 0), COALESCE(source_id, 0), COALESCE(currency, ''),"
           "  count(*), COALESCE(SUM(value_cents), 0) FROM leads WHERE status = 'open' AND deleted_at IS NULL AND id > %lld"
           "  GROUP BY COALESCE(owner_id, 0), COALESCE(stage_id, 0), COALESCE(source_id, 0), COALESCE(currency, '')) WHERE 1"
           " ON CONFLICT(owner_id, stage_id, source_id, currency) DO UPDATE SET n = board_counts.n + excluded.n,"
           " value_cents = board_counts.value_cents + excluded.value_cents",
           (long long)base_id);
  exec(q);
  double tboard = now_s() - tb;

  /* The report counters, in primary-key order. */
  double tr = now_s();
  size_t nrc = 0;
  for (size_t i = 0; i < rc_cap; i++) if (rc_tab[i].k) rc_tab[nrc++] = rc_tab[i];
  qsort(rc_tab, nrc, sizeof *rc_tab, cmp_cell);
  sqlite3_stmt *rc = prep(
      "INSERT INTO report_counts(dim, kind, grain, period, key, owner_id, reason_id, outcome, n, value_cents)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
      " ON CONFLICT(grain, kind, period, dim, key, owner_id, reason_id, outcome) DO UPDATE SET"
      " n = report_counts.n + excluded.n, value_cents = report_counts.value_cents + excluded.value_cents");
  for (size_t i = 0; i < nrc; i++) {
    uint64_t key = rc_tab[i].k - 1;
    sqlite3_bind_int(rc, 1, (int)(key >> 36 & 7));
    sqlite3_bind_int(rc, 2, (int)(key >> 59 & 3));
    sqlite3_bind_int(rc, 3, (int)(key >> 61 & 1));
    sqlite3_bind_int64(rc, 4, (int64_t)(key >> 39 & 0xFFFFF));
    sqlite3_bind_text(rc, 5, ktext[key >> 28 & 0xFF], -1, SQLITE_STATIC);
    sqlite3_bind_int64(rc, 6, (int64_t)(key >> 12 & 0xFFFF));
    sqlite3_bind_int64(rc, 7, (int64_t)(key >> 4 & 0xFF));
    sqlite3_bind_text(rc, 8, otext[key & 0xF], -1, SQLITE_STATIC);
    sqlite3_bind_int64(rc, 9, rc_tab[i].n);
    sqlite3_bind_int64(rc, 10, rc_tab[i].v);
    step_done(rc, "insert report counts");
  }
  sqlite3_finalize(rc);
  free(rc_tab);
  double treports = now_s() - tr;

  /* The win model as the scoring job stores it: its own query over the closed history, now. */
  double tw = now_s();
  if (model) {
    nhist = history_rows(&hist);
    json_t *stored = lp_nb_train(hist, nhist, MIN_CLOSED);
    free_rows(hist, nhist);
    if (!stored) { fprintf(stderr, "fill: the history trains no model after the load\n"); return 1; }
    label_model(stored);
    if (!json_equal(stored, model)) { fprintf(stderr, "fill: the model of the first pass differs from the stored one\n"); return 1; }
    char *text = json_dumps(stored, JSON_COMPACT);
    st = prep("INSERT INTO win_models(trained_at, closed_count, model) VALUES (?1,"
              " (SELECT count(*) FROM leads l JOIN outcomes o ON o.key = l.outcome"
              "  WHERE l.status = 'closed' AND l.deleted_at IS NULL AND o.kind IN ('won', 'lost')), ?2)");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    step_done(st, "insert win model");
    sqlite3_finalize(st);
    free(text);
    json_decref(stored);
    json_decref(model);
  }
  exec("COMMIT");
  double twin = now_s() - tw;

  /* Back to what the server expects: WAL, normal locking. */
  exec("PRAGMA locking_mode=NORMAL; PRAGMA search.locking_mode=NORMAL;");
  exec("PRAGMA journal_mode=WAL; PRAGMA search.journal_mode=WAL;");
  exec("PRAGMA synchronous=FULL; PRAGMA search.synchronous=FULL;");
  sqlite3_close(db);
  fprintf(stderr, "fill: %lld leads (%lld open, %.1f%%, %lld losses) over %d owners: model %.1f s, rows+fts+spells %.1f s,"
          " indexes %.1f s, lead_keys %.1f s, board %.1f s, %zu report rows %.1f s, win model %.1f s, total %.1f s\n",
          n, opened, 100.0 * (double)opened / (double)n, nlosses, nowners, tmodel, tload, tidx, tkeys, tboard, nrc, treports, twin,
          now_s() - t0);
  printf("%.1f\n", now_s() - t0);
  return 0;
}
