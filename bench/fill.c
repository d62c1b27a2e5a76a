/* fill.c — bulk loader for benchmarks: puts N leads straight into a leadpath SQLite database.
 *
 *   fill DB_PATH [N] [SEED]        (N defaults to 1,000,000)
 *
 * The database must already exist with the schema (`leadpath migrate`) and its users (`leadpath
 * user add`); every non-admin user becomes a lead owner. The loader writes, for each lead,
 * exactly what the server's create path (lib/store/leads.c: create_fn + index_lead) writes:
 *   - a leads row (owner, stage 1-5, source 1-8, ~60% open, created over the last two years,
 *     emails/phones as JSON arrays, closed history with outcome / reason / closed_at / closed_by,
 *     sold_at for the sale stage, waiting_since for the waiting stage, stage_entered_at),
 *   - a leads_fts row (rowid = lead id) in the search file beside the database (DB_PATH-search,
 *     made by `leadpath migrate`), whose body is built like fts_body() in leads.c: full_name,
 *     company, login, request, notes, close_notes, city, service (login and notes are left
 *     NULL), then the emails, the phones and each phone without its '+', one per line; and the
 *     index's state (fts_state) says it is complete.
 * It does not write `created` timeline events (the events table stays as it is).
 *
 * Speed: journal off, synchronous off, exclusive lock and a large cache while loading; the
 * secondary indexes of leads are dropped and recreated afterwards from their
 * own stored SQL (so the schema is byte-for-byte what migrate made). Then journal_mode=WAL is
 * restored. No ANALYZE is run: the server never runs it, so the query plans measured are the
 * ones a real deployment gets.
 */
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

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: fill DB_PATH [N] [SEED]\n"); return 2; }
  const char *path = argv[1];
  long long n = argc > 2 ? atoll(argv[2]) : 1000000;
  rs = argc > 3 ? strtoull(argv[3], NULL, 10) : 0x9E3779B97F4A7C15ULL;
  if (!rs) rs = 1;
  double t0 = now_s();
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) die("open");

  /* Owners: every active non-admin user; the admin is kept as the closer of last resort. */
  int64_t owners[256];
  int nowners = 0;
  int64_t admin = 0;
  sqlite3_stmt *st = prep("SELECT u.id, r.name FROM users u JOIN roles r ON r.id = u.role_id WHERE u.active = 1 ORDER BY u.id");
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *role = (const char *)sqlite3_column_text(st, 1);
    if (!strcmp(role, "admin")) { if (!admin) admin = sqlite3_column_int64(st, 0); continue; }
    if (nowners < 256) owners[nowners++] = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  if (!nowners) { fprintf(stderr, "fill: no non-admin users to own leads; add users first\n"); return 1; }
  if (!admin) admin = owners[0];
  sqlite3_stmt *cnt = prep("SELECT count(*), COALESCE(max(id), 0) FROM leads");
  sqlite3_step(cnt);
  long long have = sqlite3_column_int64(cnt, 0);
  int64_t base_id = sqlite3_column_int64(cnt, 1);
  sqlite3_finalize(cnt);
  if (have) fprintf(stderr, "fill: the database already has %lld leads; adding %lld more\n", have, n);

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
  char *idx_sql[32];
  char *idx_name[32];
  int nidx = 0;
  st = prep("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads'"
            " AND sql IS NOT NULL ORDER BY rowid");
  while (sqlite3_step(st) == SQLITE_ROW && nidx < 32) {
    idx_name[nidx] = strdup((const char *)sqlite3_column_text(st, 0));
    idx_sql[nidx] = strdup((const char *)sqlite3_column_text(st, 1));
    nidx++;
  }
  sqlite3_finalize(st);
  exec("BEGIN");
  for (int i = 0; i < nidx; i++) {
    char q[256];
    snprintf(q, sizeof q, "DROP INDEX \"%s\"", idx_name[i]);
    exec(q);
  }

  sqlite3_stmt *ins = prep(
      "INSERT INTO leads(id, version, full_name, company, login, emails, phones, partner_id, location_id, owner_id,"
      " stage_id, source_id, country, region, city, service, request, value_cents, currency, score, last_contacted_at,"
      " email_opt_out, sms_opt_out, status, outcome, lost_reason_id, close_notes, closed_at, closed_by, sold_at,"
      " review_requested_at, created_at, updated_at, created_by, deleted_at, stage_entered_at, waiting_since, waiting_seconds)"
      " VALUES (?1, 1, ?2, ?3, NULL, ?4, ?5, NULL, 1, ?6, ?7, ?8, 'GB', NULL, ?9, ?10, ?11, ?12, 'GBP', ?13, ?14,"
      " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, NULL, ?24, ?25, ?26, NULL, ?27, ?28, 0)");
  sqlite3_stmt *fts = prep("INSERT INTO search.leads_fts(rowid, body) VALUES (?1, ?2)");

  int64_t now = (int64_t)time(NULL);
  const int64_t span = 730LL * 86400;  /* two years */
  int64_t start = now - span;
  long long opened = 0;
  double tl = now_s();
  for (long long k = 0; k < n; k++) {
    int64_t id = base_id + 1 + k;
    /* ids follow creation time, as they do when leads arrive one by one */
    int64_t created = start + (int64_t)((double)span * (double)k / (double)n) + rn(600);
    if (created > now) created = now;
    int64_t age = now - created;
    const char *fn = first[rn(NEL(first))], *ln = last[rn(NEL(last))];
    char name[128], email[2][160], phone[2][24], emails_json[400], phones_json[80], body[2048];
    snprintf(name, sizeof name, "%s %s", fn, ln);
    char lf[64], ll[64];
    lower_ascii(lf, fn, sizeof lf);
    lower_ascii(ll, ln, sizeof ll);
    int nemail = rn(100) < 85 ? 1 : (rn(100) < 60 ? 2 : 0);
    int nphone = rn(100) < 75 ? 1 : (rn(100) < 30 ? 2 : 0);
    static const char *domains[] = {"example.com", "example.org", "mail.example.net", "example.co.uk"};
    for (int e = 0; e < nemail; e++)
      snprintf(email[e], sizeof email[e], "%s.%s%s%lld@%s", lf, ll, e ? ".work" : "", (long long)id, domains[rn(NEL(domains))]);
    for (int p = 0; p < nphone; p++) snprintf(phone[p], sizeof phone[p], "+447700%06u", rn(1000000));
    size_t o = 0;
    o += (size_t)snprintf(emails_json + o, sizeof emails_json - o, "[");
    for (int e = 0; e < nemail; e++) o += (size_t)snprintf(emails_json + o, sizeof emails_json - o, "%s\"%s\"", e ? "," : "", email[e]);
    snprintf(emails_json + o, sizeof emails_json - o, "]");
    o = 0;
    o += (size_t)snprintf(phones_json + o, sizeof phones_json - o, "[");
    for (int p = 0; p < nphone; p++) o += (size_t)snprintf(phones_json + o, sizeof phones_json - o, "%s\"%s\"", p ? "," : "", phone[p]);
    snprintf(phones_json + o, sizeof phones_json - o, "]");

    int64_t owner = owners[rn((unsigned)nowners)];
    const char *company = rn(100) < 55 ? companies[rn(NEL(companies))] : NULL;
    const char *city = cities[rn(NEL(cities))];
    const char *service = services[rn(NEL(services))];
    const char *request = requests[rn(NEL(requests))];
    int source = 1 + (int)rn(8);
    /* Old leads are mostly closed, recent ones mostly open: ~60% open overall. */
    int open = rn(1000) < (unsigned)(age < 60 * 86400 ? 900 : 580);
    int stage;
    unsigned sr = rn(100);
    stage = sr < 35 ? 1 : sr < 60 ? 2 : sr < 75 ? 3 : sr < 92 ? 4 : 5;
    int64_t updated = created + (age > 0 ? (int64_t)rn((unsigned)(age < 90 * 86400 ? age : 90 * 86400) + 1) : 0);
    int64_t closed_at = 0, sold_at = 0, stage_entered = created + (stage > 1 ? (int64_t)rn(86400 * 3) : 0);
    if (stage_entered > now) stage_entered = now;
    if (stage == 5) sold_at = stage_entered;
    const char *outcome = NULL, *notes = NULL;
    int reason = 0;
    if (!open) {
      int oc = (int)rn(NEL(outcomes));
      outcome = outcomes[oc].key;
      if (outcomes[oc].lost) { reason = 1 + (int)rn(8); notes = "Went quiet after the quote."; }
      else notes = rn(2) ? "Happy customer." : NULL;
      int64_t maxd = age / 86400 > 1 ? age / 86400 - 1 : 1;
      closed_at = created + (1 + (int64_t)rn((unsigned)(maxd < 120 ? maxd : 120))) * 86400;
      if (closed_at > now) closed_at = now;
      if (updated < closed_at) updated = closed_at;
    }
    if (updated > now) updated = now;
    int64_t waiting_since = (open && stage == 3) ? stage_entered : 0;

    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_text(ins, 2, name, -1, SQLITE_STATIC);
    if (company) sqlite3_bind_text(ins, 3, company, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 3);
    sqlite3_bind_text(ins, 4, emails_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, phones_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 6, owner);
    sqlite3_bind_int(ins, 7, stage);
    sqlite3_bind_int(ins, 8, source);
    sqlite3_bind_text(ins, 9, city, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, service, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 11, request, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 12, 50000 + (int64_t)rn(2000000));
    sqlite3_bind_int(ins, 13, (int)rn(100));
    if (stage > 1) sqlite3_bind_int64(ins, 14, stage_entered); else sqlite3_bind_null(ins, 14);
    sqlite3_bind_int(ins, 15, rn(100) < 3);
    sqlite3_bind_int(ins, 16, rn(100) < 2);
    sqlite3_bind_text(ins, 17, open ? "open" : "closed", -1, SQLITE_STATIC);
    if (outcome) sqlite3_bind_text(ins, 18, outcome, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 18);
    if (reason) sqlite3_bind_int(ins, 19, reason); else sqlite3_bind_null(ins, 19);
    if (notes) sqlite3_bind_text(ins, 20, notes, -1, SQLITE_STATIC); else sqlite3_bind_null(ins, 20);
    if (closed_at) { sqlite3_bind_int64(ins, 21, closed_at); sqlite3_bind_int64(ins, 22, owner); }
    else { sqlite3_bind_null(ins, 21); sqlite3_bind_null(ins, 22); }
    if (sold_at) sqlite3_bind_int64(ins, 23, sold_at); else sqlite3_bind_null(ins, 23);
    sqlite3_bind_int64(ins, 24, created);
    sqlite3_bind_int64(ins, 25, updated);
    sqlite3_bind_int64(ins, 26, rn(100) < 70 ? owner : admin);
    sqlite3_bind_int64(ins, 27, stage_entered);
    if (waiting_since) sqlite3_bind_int64(ins, 28, waiting_since); else sqlite3_bind_null(ins, 28);
    step_done(ins, "insert lead");

    /* The search body, line by line as index_lead() builds it (login and notes are NULL here). */
    o = 0;
    const char *lines[] = {name, company, request, notes, city, service};
    for (size_t i = 0; i < NEL(lines); i++)
      if (lines[i]) o += (size_t)snprintf(body + o, sizeof body - o, "%s\n", lines[i]);
    for (int e = 0; e < nemail; e++) {
      o += (size_t)snprintf(body + o, sizeof body - o, "%s\n", email[e]);
    }
    for (int p = 0; p < nphone; p++) {
      o += (size_t)snprintf(body + o, sizeof body - o, "%s\n%s\n", phone[p], phone[p] + 1);
    }
    sqlite3_bind_int64(fts, 1, id);
    sqlite3_bind_text(fts, 2, body, (int)o, SQLITE_STATIC);
    step_done(fts, "insert fts");
    opened += open;

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
  double tload = now_s() - tl;

  double ti = now_s();
  exec("BEGIN");
  for (int i = 0; i < nidx; i++) { exec(idx_sql[i]); free(idx_sql[i]); free(idx_name[i]); }
  /* The exact keys (lead_keys: related leads, duplicates, inbound matching), as the server's
   * applier writes them with each lead (store/related.c). */
  sqlite3_stmt *lk = prep("SELECT count(*) FROM main.sqlite_master WHERE name = 'lead_keys'");
  sqlite3_step(lk);
  int has_lk = sqlite3_column_int(lk, 0);
  sqlite3_finalize(lk);
  if (has_lk) {
    exec("INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'e:' || j.value, l.id FROM leads l, json_each(l.emails) j"
         " WHERE l.deleted_at IS NULL AND j.type = 'text'");
    exec("INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'p:' || j.value, l.id FROM leads l, json_each(l.phones) j"
         " WHERE l.deleted_at IS NULL AND j.type = 'text'");
    exec("INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'c:' || lower(trim(company)), id FROM leads"
         " WHERE deleted_at IS NULL AND company IS NOT NULL AND trim(company) <> ''");
  }
  exec("COMMIT");
  double tidx = now_s() - ti;

  /* Back to what the server expects: WAL, normal locking. */
  exec("PRAGMA locking_mode=NORMAL; PRAGMA search.locking_mode=NORMAL;");
  exec("PRAGMA journal_mode=WAL; PRAGMA search.journal_mode=WAL;");
  exec("PRAGMA synchronous=FULL; PRAGMA search.synchronous=FULL;");
  sqlite3_close(db);
  fprintf(stderr, "fill: %lld leads (%lld open, %.1f%%) over %d owners: rows+fts %.1f s, indexes %.1f s, total %.1f s\n",
          n, opened, 100.0 * (double)opened / (double)(n ? n : 1), nowners, tload, tidx, now_s() - t0);
  printf("%.1f\n", now_s() - t0);
  return 0;
}
