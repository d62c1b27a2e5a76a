/* leadjson.c — leads straight from rows to JSON text (see leadjson.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "core/plan.h"
#include "core/record.h"
#include "store/leadjson.h"
#include "util/valid.h"
#include "util/timefmt.h"

static char one_sql[4400];  /* the same text on both engines */
static int nfields, c_status, c_created, c_closed, c_ws, c_wsince, c_winbp, c_winf;
#define MAX_FIELDS 128
static char keys[MAX_FIELDS][48];  /* ,"name": for each field, written once */
static size_t key_len[MAX_FIELDS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void build(void) {
  lp_buf b = LP_BUF_INIT(4096);
  lp_buf_puts(&b, "SELECT leads.id");
  for (const lp_field *f = lp_rt_lead.fields; f->name; f++) { lp_buf_printf(&b, ", leads.%s", f->name); nfields++; }
  /* groups: leads.group_ids, kept with lead_groups (leads.c, groups_refresh) */
  snprintf(one_sql, sizeof one_sql, "%s, leads.group_ids AS groups FROM leads WHERE leads.id = $1 AND leads.deleted_at IS NULL",
           lp_buf_str(&b));
  lp_buf_release(&b);
  int i = 1;
  for (const lp_field *f = lp_rt_lead.fields; f->name && i < MAX_FIELDS; f++, i++) {
    int n = snprintf(keys[i], sizeof keys[i], ",\"%s\":", f->name);
    key_len[i] = n > 0 && (size_t)n < sizeof keys[i] ? (size_t)n : 0;
    if (!strcmp(f->name, "status")) c_status = i;
    else if (!strcmp(f->name, "created_at")) c_created = i;
    else if (!strcmp(f->name, "closed_at")) c_closed = i;
    else if (!strcmp(f->name, "waiting_seconds")) c_ws = i;
    else if (!strcmp(f->name, "waiting_since")) c_wsince = i;
    else if (!strcmp(f->name, "win_bp")) c_winbp = i;
    else if (!strcmp(f->name, "win_factors")) c_winf = i;
  }
}

const char *lp_lead_json_select_one(lp_db *db) {
  (void)db;
  pthread_once(&once, build);
  return one_sql;
}

int lp_lead_json_col(const char *field) {
  pthread_once(&once, build);
  if (!strcmp(field, "id")) return 0;
  if (!strcmp(field, "groups")) return nfields + 1;
  int i = 1;
  for (const lp_field *f = lp_rt_lead.fields; f->name; f++, i++) if (!strcmp(f->name, field)) return i;
  return -1;
}

void lp_json_str(lp_buf *b, const char *s) {
  if (!s) { lp_buf_puts(b, "null"); return; }
  lp_json_strn(b, s, strlen(s));
}

/* 1 for the bytes JSON needs escaped: controls, '"' and '\\'. */
static const unsigned char json_esc[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  ['"'] = 1, ['\\'] = 1};

void lp_json_strn(lp_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  lp_buf_add(b, "\"", 1);
  const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
  for (; p < end; p++) {
    if (!json_esc[*p]) continue;
    lp_buf_add(b, (const char *)run, (size_t)(p - run));
    run = p + 1;
    switch (*p) {
      case '"': lp_buf_add(b, "\\\"", 2); break;
      case '\\': lp_buf_add(b, "\\\\", 2); break;
      case '\n': lp_buf_add(b, "\\n", 2); break;
      case '\r': lp_buf_add(b, "\\r", 2); break;
      case '\t': lp_buf_add(b, "\\t", 2); break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
        lp_buf_add(b, u, 6);
      }
    }
  }
  lp_buf_add(b, (const char *)run, (size_t)(end - run));
  lp_buf_add(b, "\"", 1);
}

static int64_t col_int0(lp_stmt *st, int i) { return lp_col_null(st, i) ? 0 : lp_col_int(st, i); }

/* Integers are most of a lead's text: write them without printf, two digits at a time. */
static void put_int(lp_buf *b, int64_t v) {
  static const char pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
  char out[24];
  char *e = out + sizeof out, *p = e;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  while (u >= 100) {
    unsigned k = (unsigned)(u % 100) * 2;
    u /= 100;
    *--p = pairs[k + 1];
    *--p = pairs[k];
  }
  if (u >= 10) {
    *--p = pairs[u * 2 + 1];
    *--p = pairs[u * 2];
  } else {
    *--p = (char)('0' + u);
  }
  if (v < 0) *--p = '-';
  lp_buf_add(b, p, (size_t)(e - p));
}

json_t *lp_phones_shown(json_t *phones) {
  json_t *shown = json_array();
  size_t i;
  json_t *p;
  json_array_foreach(phones, i, p) {
    char buf[LP_PHONE_SHOWSZ];
    const char *s = json_string_value(p);
    if (s) json_array_append_new(shown, json_string(lp_phone_format(s, buf, sizeof buf) == 0 ? buf : s));
  }
  return shown;
}

/* ,"phones_display":[...] from the stored E.164 list (JSON text). */
static void phones_display(lp_buf *b, const char *stored, size_t len) {
  json_t *arr = stored && len ? json_loadb(stored, len, 0, NULL) : NULL;
  json_t *shown = lp_phones_shown(arr);
  char *txt = json_dumps(shown, JSON_COMPACT);
  lp_buf_puts(b, ",\"phones_display\":");
  lp_buf_puts(b, txt ? txt : "[]");
  free(txt);
  json_decref(shown);
  json_decref(arr);
}

void lp_lead_json_body(lp_buf *b, lp_stmt *st) {
  pthread_once(&once, build);
  lp_buf_puts(b, "{\"id\":");
  put_int(b, lp_col_int(st, 0));
  int i = 1;
  lp_colval v;
  for (const lp_field *f = lp_rt_lead.fields; f->name && i < MAX_FIELDS; f++, i++) {
    if (f->flags & FF_HIDDEN) continue;
    lp_buf_add(b, keys[i], key_len[i]);
    lp_col_get(st, i, &v);
    if (v.type == LP_COL_NULL) {
      if (f->type == FT_EMAILS || f->type == FT_PHONES) lp_buf_add(b, "[]", 2);
      else lp_buf_add(b, "null", 4);
      if (f->type == FT_PHONES) lp_buf_puts(b, ",\"phones_display\":[]");
      continue;
    }
    int numeric = f->type == FT_INT || f->type == FT_REF || f->type == FT_BOOL || f->type == FT_TIME;
    int64_t n = v.type == LP_COL_INT ? v.i : 0;
    if (numeric && v.type != LP_COL_INT) {
      n = lp_col_int(st, i);  /* stored as text: let the engine convert, as before */
    } else if (!numeric && v.type == LP_COL_INT) {
      v.s = lp_col_text(st, i);  /* a number in a text field: its text */
      v.len = v.s ? strlen(v.s) : 0;
    }
    switch (f->type) {
      case FT_INT: case FT_REF: put_int(b, n); break;
      case FT_BOOL: if (n) lp_buf_add(b, "true", 4); else lp_buf_add(b, "false", 5); break;
      case FT_TIME: {
        char t[LP_TIME_LEN];
        lp_time_format(n, t);
        t[LP_TIME_LEN - 1] = '"';
        lp_buf_add(b, "\"", 1);
        lp_buf_add(b, t, LP_TIME_LEN);
        break;
      }
      case FT_EMAILS: case FT_PHONES: case FT_JSON:
        if (v.s && v.len) lp_buf_add(b, v.s, v.len);  /* stored as JSON text written by jansson */
        else lp_buf_add(b, "[]", 2);
        if (f->type == FT_PHONES) phones_display(b, v.s, v.len);
        break;
      default:
        if (v.s) lp_json_strn(b, v.s, v.len);
        else lp_buf_add(b, "null", 4);
    }
  }
  const char *groups = lp_col_text(st, nfields + 1);
  lp_buf_puts(b, ",\"groups\":");
  lp_buf_puts(b, groups && *groups ? groups : "[]");
  /* scoring's estimate (store/scoring.c): basis points, -1 for none */
  int64_t bp = lp_col_null(st, c_winbp) ? -1 : lp_col_int(st, c_winbp);
  const char *factors = lp_col_text(st, c_winf);
  lp_buf_puts(b, ",\"win_probability\":");
  if (bp < 0) lp_buf_puts(b, "null");
  else lp_buf_printf(b, "%lld.%04lld", (long long)(bp / 10000), (long long)(bp % 10000));
  lp_buf_puts(b, ",\"win_factors\":");
  lp_buf_puts(b, bp >= 0 && factors && *factors ? factors : "[]");
}

void lp_lead_json_tail(lp_buf *b, int open, int64_t created, int64_t closed, int64_t waiting_seconds,
                       int64_t waiting_since, int64_t now, lp_sla_cfg sla) {
  lp_buf_puts(b, ",\"age_days\":");
  put_int(b, lp_age_days_of(created, closed, now));
  lp_buf_puts(b, ",\"sla\":\"");
  lp_buf_puts(b, lp_sla_of(open, created, closed, waiting_seconds, waiting_since, now, sla.warn_days, sla.breach_days));
  lp_buf_puts(b, "\"}");
}

void lp_lead_json_write(lp_buf *b, lp_stmt *st, int64_t now, lp_sla_cfg sla) {
  lp_lead_json_body(b, st);
  const char *status = lp_col_text(st, c_status);
  lp_lead_json_tail(b, status && !strcmp(status, "open"), col_int0(st, c_created), col_int0(st, c_closed),
                    col_int0(st, c_ws), col_int0(st, c_wsince), now, sla);
}

/* ---------------------------------------------------------------- rendered leads

 * A list page is mostly the same leads again (the first pages of each owner's open leads), and
 * rendering one (reading ~40 columns, writing ~1 KB of JSON) was most of a page's cost. So the
 * body of a rendered lead is kept under (store, id, version, updated_at): every change of a lead
 * row raises its version (lp_update) or sets updated_at (comments, group memberships), so a
 * changed lead is never found under its new key, and a key never names other content. The
 * time-dependent tail (age_days, sla) is written on every read. Direct-mapped: a lead takes its
 * slot from whatever was there; bounded at LC_SLOTS leads (~20 MB). */
#define LC_SLOTS 16384
#define LC_LOCKS 64

typedef struct { uint64_t origin; int64_t id, version, updated; char *text; size_t len; } lc_slot;
static lc_slot lc[LC_SLOTS];
static pthread_mutex_t lc_mu[LC_LOCKS];
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;
static void lc_init(void) { for (int i = 0; i < LC_LOCKS; i++) pthread_mutex_init(&lc_mu[i], NULL); }

static unsigned lc_index(uint64_t origin, int64_t id) {
  uint64_t h = (origin * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)id * 0xC2B2AE3D27D4EB4FULL);
  return (unsigned)((h ^ (h >> 29)) % LC_SLOTS);
}

int lp_lead_json_cached(lp_buf *b, uint64_t origin, int64_t id, int64_t version, int64_t updated) {
  pthread_once(&lc_once, lc_init);
  unsigned i = lc_index(origin, id);
  pthread_mutex_t *mu = &lc_mu[i % LC_LOCKS];
  pthread_mutex_lock(mu);
  lc_slot *s = &lc[i];
  int hit = s->text && s->origin == origin && s->id == id && s->version == version && s->updated == updated;
  if (hit) lp_buf_add(b, s->text, s->len);
  pthread_mutex_unlock(mu);
  return hit;
}

void lp_lead_json_remember(uint64_t origin, int64_t id, int64_t version, int64_t updated, const char *body, size_t len) {
  pthread_once(&lc_once, lc_init);
  char *text = malloc(len ? len : 1);
  if (!text) return;
  memcpy(text, body, len);
  unsigned i = lc_index(origin, id);
  pthread_mutex_t *mu = &lc_mu[i % LC_LOCKS];
  pthread_mutex_lock(mu);
  lc_slot *s = &lc[i];
  char *old = s->text;
  *s = (lc_slot){origin, id, version, updated, text, len};
  pthread_mutex_unlock(mu);
  free(old);
}
