/* scoring.c — scoring rules, the win model and the lead's numbers in the store (see scoring.h). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/scoring.h"
#include "jobs/jobs.h"
#include "store/rows.h"
#include "store/scoring.h"
#include "util/buf.h"

#define MIN_CLOSED 10        /* fewer closed (won or lost) leads teach nothing: no estimates */
#define BATCH 500
#define MODELS_KEPT 5
#define HOUR 3600

static int64_t iget(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- what is in use, cached
 * The applier asks on every change: the rules and the model are read at most once a second per
 * database (and at once after this process saved rules or trained). Another server's change is
 * seen within the second; the run a change of rules queues puts every lead right anyway. */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { uint64_t origin; int64_t at; unsigned gen; json_t *rules, *model; } cache;
static unsigned cache_gen = 1;

static void cache_drop(void) {
  pthread_mutex_lock(&cache_mu);
  cache_gen++;
  pthread_mutex_unlock(&cache_mu);
}

static json_t *rules_row(lp_db *db, lp_err *err) {
  json_t *row = lp_query_one(db, "SELECT version, rules, updated_at, updated_by FROM scoring_rules WHERE id = 1", NULL, err);
  if (!row && err->code == LP_OK) row = json_pack("{s:i, s:s}", "version", 1, "rules", "{}");
  return row;
}

/* The stored rules with every key (a key missing takes its default). */
static json_t *parse_rules(const char *text) {
  json_t *r = text ? json_loads(text, 0, NULL) : NULL;
  if (!json_is_object(r)) { json_decref(r); r = json_object(); }
  json_t *def = lp_score_rules_default();
  const char *k;
  json_t *v;
  json_object_foreach(def, k, v) if (!json_object_get(r, k)) json_object_set(r, k, v);
  json_decref(def);
  return r;
}

/* The model in use (NULL: none) and the rules, as new references. */
static lp_code in_use(lp_db *db, int64_t now, json_t **rules, json_t **model, lp_err *err) {
  uint64_t origin = lp_db_origin(db);
  pthread_mutex_lock(&cache_mu);
  if (cache.rules && cache.origin == origin && cache.at == now && cache.gen == cache_gen) {
    *rules = json_incref(cache.rules);
    *model = json_incref(cache.model);
    pthread_mutex_unlock(&cache_mu);
    return LP_OK;
  }
  unsigned gen = cache_gen;
  pthread_mutex_unlock(&cache_mu);
  json_t *row = rules_row(db, err);
  if (!row) return err->code;
  json_t *r = parse_rules(sget(row, "rules"));
  json_decref(row);
  json_t *m = lp_query_one(db, "SELECT model FROM win_models ORDER BY id DESC LIMIT 1", NULL, err);
  if (!m && err->code != LP_OK) { json_decref(r); return err->code; }
  json_t *mj = m ? json_loads(sget(m, "model") ? sget(m, "model") : "", 0, NULL) : NULL;
  json_decref(m);
  pthread_mutex_lock(&cache_mu);
  if (gen == cache_gen) {
    json_decref(cache.rules);
    json_decref(cache.model);
    cache.origin = origin;
    cache.at = now;
    cache.gen = gen;
    cache.rules = json_incref(r);
    cache.model = json_incref(mj);
  }
  pthread_mutex_unlock(&cache_mu);
  *rules = r;
  *model = mj;
  return LP_OK;
}

/* ---------------------------------------------------------------- a lead's numbers */

static void feature_values(const json_t *lead, char buf[LP_NB_FEATURES][32], const char *feat[LP_NB_FEATURES]) {
  static const char *const cols[LP_NB_FEATURES] = {"source_id", "location_id", "service", "country", "owner_id"};
  for (int f = 0; f < LP_NB_FEATURES; f++) {
    json_t *v = json_object_get(lead, cols[f]);
    buf[f][0] = 0;
    if (json_is_integer(v)) snprintf(buf[f], sizeof buf[f], "%lld", (long long)json_integer_value(v));
    feat[f] = json_is_string(v) ? json_string_value(v) : buf[f];
  }
}

/* The estimate in basis points and its factors as stored (JSON text, new string). */
static int64_t estimate(const json_t *model, const json_t *lead, char **factors) {
  char buf[LP_NB_FEATURES][32];
  const char *feat[LP_NB_FEATURES];
  feature_values(lead, buf, feat);
  return lp_nb_estimate(model, feat, factors);
}

static int64_t last_inbound(lp_db *db, int64_t lead_id, lp_err *err) {
  json_t *args = json_pack("[I]", (json_int_t)lead_id);
  int64_t t = lp_query_int(db, "SELECT COALESCE(MAX(created_at), 0) FROM messages WHERE lead_id = $1 AND direction = 'in'", args, 0, err);
  json_decref(args);
  return t;
}

static int touches_features(const json_t *cols) {
  static const char *const k[] = {"source_id", "location_id", "service", "country", "owner_id", "status"};
  for (size_t i = 0; i < sizeof k / sizeof *k; i++) if (json_object_get(cols, k[i])) return 1;
  return 0;
}

lp_code lp__score_plan(lp_db *db, json_t *lead, const lp_plan *plan, int64_t now, lp_err *err) {
  if (plan->kind == LP_PLAN_DELETE || plan->kind == LP_PLAN_COMMENT || !plan->lead) return LP_OK;
  int inbound = 0;
  for (size_t i = 0; i < plan->messages.n; i++) {
    const char *d = sget(plan->messages.v[i].cols, "direction");
    inbound |= d && !strcmp(d, "in");
  }
  if (lead && !json_object_size(plan->lead) && !inbound) return LP_OK;
  json_t *rules, *model;
  lp_code rc = in_use(db, now, &rules, &model, err);
  if (rc != LP_OK) return rc;
  json_t *after = lead ? json_copy(lead) : json_object();
  json_object_update(after, plan->lead);
  if (lp_score_rules_enabled(rules)) {
    int64_t last = inbound ? now : 0;
    if (!last && lead && lp_score_rules_need_inbound(rules)) last = last_inbound(db, iget(lead, "id"), err);
    if (err->code != LP_OK) rc = err->code;
    int64_t score = lp_score_of(rules, after, last, now);
    if (rc == LP_OK && (!lead || json_object_get(plan->lead, "score") || iget(lead, "score") != score))
      json_object_set_new(plan->lead, "score", json_integer(score));
  }
  const char *status = sget(after, "status");
  if (rc == LP_OK && model && (!status || !strcmp(status, "open")) && (!lead || touches_features(plan->lead))) {
    char *factors = NULL;
    int64_t bp = estimate(model, after, &factors);
    if (!lead || iget(lead, "win_bp") != bp || !sget(lead, "win_factors") || strcmp(sget(lead, "win_factors"), factors ? factors : "")) {
      json_object_set_new(plan->lead, "win_bp", json_integer(bp));
      json_object_set_new(plan->lead, "win_factors", factors ? json_string(factors) : json_null());
    }
    free(factors);
  }
  json_decref(after);
  json_decref(rules);
  json_decref(model);
  return rc;
}

/* ---------------------------------------------------------------- rules */

static json_t *present_rules(json_t *row) {
  json_t *o = parse_rules(sget(row, "rules"));
  json_object_set(o, "version", json_object_get(row, "version"));
  json_object_set_new(o, "updated_at", lp_json_time(json_object_get(row, "updated_at")));
  json_t *by = json_object_get(row, "updated_by");
  json_object_set_new(o, "updated_by", json_is_integer(by) ? json_incref(by) : json_null());
  return o;
}

json_t *lp_scoring_rules_get(lp_db *db, lp_err *err) {
  json_t *row = rules_row(db, err);
  if (!row) return NULL;
  json_t *o = present_rules(row);
  json_decref(row);
  return o;
}

typedef struct { const lp_actor *a; json_t *rules; int64_t expect, now, version; } put_ctx;

static lp_code put_fn(lp_db *db, void *p, lp_err *err) {
  put_ctx *c = p;
  json_t *row = rules_row(db, err);
  if (!row) return err->code;
  int64_t version = iget(row, "version");
  if (c->expect >= 0 && c->expect != version) {
    json_decref(row);
    return lp_fail(err, LP_EVERSION, "The scoring rules have changed; reload and try again");
  }
  lp_code rc = LP_OK;
  static const struct { const char *list, *table; } refs[] = {{"sources", "sources"}, {"stages", "stages"}};
  for (size_t r = 0; r < 2; r++) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c->rules, refs[r].list), i, e) {
      char field[64];
      snprintf(field, sizeof field, "%s[%zu].id", refs[r].list, i);
      lp_code x = lp_ref_check(db, refs[r].table, iget(e, "id"), field, err);
      if (x != LP_OK && x != LP_EVALIDATION) { json_decref(row); return x; }
    }
  }
  if (err->code != LP_OK) { json_decref(row); return err->code; }
  json_t *old = parse_rules(sget(row, "rules"));
  json_decref(row);
  char *text = json_dumps(c->rules, JSON_COMPACT | JSON_SORT_KEYS);
  json_t *args = json_pack("[s, I, I]", text ? text : "{}", (json_int_t)c->now, (json_int_t)c->a->id);
  free(text);
  rc = lp_exec(db, "UPDATE scoring_rules SET rules = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = 1", args, err);
  json_decref(args);
  c->version = version + 1;
  if (rc == LP_OK) {
    json_t *changes = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(c->rules, k, v) {
      json_t *o = json_object_get(old, k);
      if (!o || !json_equal(o, v)) json_object_set_new(changes, k, json_pack("{s:O, s:O}", "old", o ? o : json_null(), "new", v));
    }
    json_t *data = json_pack("{s:I, s:o}", "version", (json_int_t)c->version, "changes", changes);
    rc = lp_event(db, c->now, 0, c->a->id, "scoring_rules_updated", "scoring_rules", 1, data, err);
    json_decref(data);
  }
  json_decref(old);
  if (rc == LP_OK) {
    /* every lead's score follows the new rules */
    char key[64];
    snprintf(key, sizeof key, "scoring:rules:%lld", (long long)c->version);
    json_t *payload = json_pack("{s:b}", "rescore", 1);
    rc = lp_job_enqueue(db, "scoring", NULL, 0, payload, c->now, c->now, c->a->id, 0, key, NULL, err);
    json_decref(payload);
  }
  return rc;
}

json_t *lp_scoring_rules_put(lp_store *s, const lp_actor *a, json_t *body, int64_t expect, int64_t now, lp_err *err) {
  if (!a->is_admin) { lp_fail(err, LP_EFORBIDDEN, "Only an admin may change the scoring rules"); return NULL; }
  json_t *bv = json_object_get(body, "version");
  if (expect < 0 && json_is_integer(bv)) expect = json_integer_value(bv);
  json_t *rules = lp_score_rules_check(body, err);
  if (!rules) return NULL;
  put_ctx c = {a, rules, expect, now, 0};
  lp_code rc = lp_store_write(s, put_fn, &c, err);
  json_decref(rules);
  if (rc != LP_OK) return NULL;
  cache_drop();
  lp_db *db = lp_store_reader(s, err);
  return db ? lp_scoring_rules_get(db, err) : NULL;
}

/* ---------------------------------------------------------------- the model */

json_t *lp_scoring_model_get(lp_db *db, lp_err *err) {
  json_t *row = lp_query_one(db, "SELECT id, trained_at, closed_count, model FROM win_models ORDER BY id DESC LIMIT 1", NULL, err);
  if (!row) {
    if (err->code != LP_OK) return NULL;
    return json_pack("{s:b, s:n, s:i, s:i, s:i, s:[]}", "trained", 0, "trained_at", "closed_count", 0, "won", 0, "lost", 0, "features");
  }
  json_t *m = json_loads(sget(row, "model") ? sget(row, "model") : "", 0, NULL);
  json_t *features = json_array(), *feats = json_object_get(m, "features"), *labels = json_object_get(m, "labels");
  for (int f = 0; f < LP_NB_FEATURES; f++) {
    const char *name = lp_nb_feature_names[f];
    json_t *values = json_array();
    const char *k;
    json_t *cell;
    json_object_foreach(json_object_get(feats, name), k, cell) {
      const char *label = sget(json_object_get(labels, name), k);
      json_array_append_new(values, json_pack("{s:s, s:s, s:O, s:O}", "value", k, "label", label ? label : *k ? k : "(none)",
                                              "won", json_array_get(cell, 0), "lost", json_array_get(cell, 1)));
    }
    json_array_append_new(features, json_pack("{s:s, s:o}", "feature", name, "values", values));
  }
  json_t *o = json_pack("{s:b, s:o, s:O, s:I, s:I, s:o}", "trained", 1, "trained_at", lp_json_time(json_object_get(row, "trained_at")),
                        "closed_count", json_object_get(row, "closed_count"), "won", (json_int_t)iget(m, "won"),
                        "lost", (json_int_t)iget(m, "lost"), "features", features);
  json_decref(m);
  json_decref(row);
  return o;
}

lp_code lp_scoring_offer(lp_db *db, int64_t now, lp_err *err) {
  char key[64];
  snprintf(key, sizeof key, "scoring:hour:%lld", (long long)(now / HOUR));
  return lp_job_enqueue(db, "scoring", NULL, 0, NULL, now, now, 0, 0, key, NULL, err);
}

/* ---------------------------------------------------------------- the job */

static int64_t closed_count(lp_db *db, lp_err *err) {
  return lp_query_int(db, "SELECT count(*) FROM leads l JOIN outcomes o ON o.key = l.outcome"
                          " WHERE l.status = 'closed' AND l.deleted_at IS NULL AND o.kind IN ('won', 'lost')", NULL, 0, err);
}

static void add_labels(lp_db *db, json_t *labels, const char *feature, const char *sql, lp_err *err) {
  json_t *rows = lp_query(db, sql, NULL, err), *tab = json_object();
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)iget(r, "id"));
    if (sget(r, "name")) json_object_set_new(tab, id, json_string(sget(r, "name")));
  }
  json_decref(rows);
  json_object_set_new(labels, feature, tab);
}

typedef struct { int64_t now, trained_id, closed; int force, trained, skipped; } train_ctx;

/* Retrains when due; the model, its summary event and the pruning of old models in one write. */
static lp_code train_fn(lp_db *db, void *p, lp_err *err) {
  train_ctx *c = p;
  c->trained = c->skipped = 0;
  json_t *last = lp_query_one(db, "SELECT id, trained_at, closed_count FROM win_models ORDER BY id DESC LIMIT 1", NULL, err);
  if (!last && err->code != LP_OK) return err->code;
  c->closed = closed_count(db, err);
  if (err->code != LP_OK) { json_decref(last); return err->code; }
  int due = c->force || !last || iget(last, "trained_at") / 86400 < c->now / 86400 ||
            c->closed * 10 >= iget(last, "closed_count") * 11 + 1;
  json_decref(last);
  if (!due) return LP_OK;
  /* the closed history, won against lost, grouped by the features; reasons that do not count
   * in reports (spam) are not a lost opportunity and stay out */
  json_t *rows = lp_query(db,
      "SELECT l.source_id, l.location_id, l.service, l.country, l.owner_id, o.kind, count(*) AS n"
      " FROM leads l JOIN outcomes o ON o.key = l.outcome LEFT JOIN lost_reasons r ON r.id = l.lost_reason_id"
      " WHERE l.status = 'closed' AND l.deleted_at IS NULL AND o.kind IN ('won', 'lost') AND COALESCE(r.counts_in_reports, 1) = 1"
      " GROUP BY l.source_id, l.location_id, l.service, l.country, l.owner_id, o.kind", NULL, err);
  if (!rows) return err->code;
  size_t n = json_array_size(rows);
  lp_nb_row *nr = calloc(n ? n : 1, sizeof *nr);
  char (*ids)[3][32] = calloc(n ? n : 1, sizeof *ids);
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    static const char *const idcols[3] = {"source_id", "location_id", "owner_id"};
    static const int idfeat[3] = {0, 1, 4};
    for (int j = 0; j < 3; j++) {
      json_t *v = json_object_get(r, idcols[j]);
      if (json_is_integer(v)) snprintf(ids[i][j], sizeof ids[i][j], "%lld", (long long)json_integer_value(v));
      nr[i].feat[idfeat[j]] = ids[i][j];
    }
    nr[i].feat[2] = sget(r, "service");
    nr[i].feat[3] = sget(r, "country");
    nr[i].won = sget(r, "kind") && !strcmp(sget(r, "kind"), "won");
    nr[i].count = iget(r, "n");
  }
  json_t *model = lp_nb_train(nr, n, MIN_CLOSED);
  free(nr);
  free(ids);
  json_decref(rows);
  lp_code rc = LP_OK;
  if (!model) {
    c->skipped = 1;
    /* too little history: no model, no estimates (a model trained before is withdrawn) */
    rc = lp_exec(db, "DELETE FROM win_models", NULL, err);
    return rc;
  }
  json_t *labels = json_object();
  add_labels(db, labels, "source", "SELECT id, name FROM sources", err);
  add_labels(db, labels, "location", "SELECT id, name FROM locations", err);
  add_labels(db, labels, "owner", "SELECT id, name FROM users", err);
  json_object_set_new(model, "labels", labels);
  if (err->code != LP_OK) { json_decref(model); return err->code; }
  char *text = json_dumps(model, JSON_COMPACT);
  json_t *cols = json_pack("{s:I, s:I, s:s}", "trained_at", (json_int_t)c->now, "closed_count", (json_int_t)c->closed, "model", text ? text : "{}");
  free(text);
  rc = lp_insert(db, "win_models", cols, &c->trained_id, err);
  json_decref(cols);
  if (rc == LP_OK) {
    json_t *data = json_pack("{s:I, s:I, s:I}", "closed_count", (json_int_t)c->closed, "won", (json_int_t)iget(model, "won"),
                             "lost", (json_int_t)iget(model, "lost"));
    rc = lp_event(db, c->now, 0, 0, "win_model_trained", "win_model", c->trained_id, data, err);
    json_decref(data);
  }
  if (rc == LP_OK) {
    json_t *a2 = json_pack("[I]", (json_int_t)(c->trained_id - MODELS_KEPT));
    rc = lp_exec(db, "DELETE FROM win_models WHERE id <= $1", a2, err);
    json_decref(a2);
  }
  json_decref(model);
  c->trained = rc == LP_OK;
  return rc;
}

typedef struct { int64_t now, after, last; int changed, seen, more; } walk_ctx;

/* One batch of open leads: what their numbers are now; only rows that change are written, each
 * with a new version (lists keep rendered leads by version). */
static lp_code walk_fn(lp_db *db, void *p, lp_err *err) {
  walk_ctx *c = p;
  c->changed = c->seen = c->more = 0;
  json_t *rules, *model;
  lp_code rc = in_use(db, c->now, &rules, &model, err);
  if (rc != LP_OK) return rc;
  int scoring = lp_score_rules_enabled(rules);
  /* A range of ids at a time (the primary key's order, on both engines): asked for "the next 500
   * open leads", the planner takes the status index and sorts every remaining open lead for each
   * batch. c->last is the highest id when the walk began. */
  json_t *args = json_pack("[I, I]", (json_int_t)c->after, (json_int_t)(c->after + BATCH));
  json_t *rows = lp_query(db, "SELECT id, source_id, location_id, service, country, owner_id, stage_id, emails, phones, company,"
                              " value_cents, city, request, created_at, closed_at, status, score, win_bp, win_factors FROM leads"
                              " WHERE id > $1 AND id <= $2 AND status = 'open' AND deleted_at IS NULL ORDER BY id", args, err);
  json_decref(args);
  if (!rows) { json_decref(rules); json_decref(model); return err->code; }
  size_t i;
  json_t *r;
  int need_inbound = lp_score_rules_need_inbound(rules);
  json_array_foreach(rows, i, r) {
    int64_t id = iget(r, "id");
    c->seen++;
    json_t *cols = json_object();
    if (scoring) {
      int64_t last = need_inbound ? last_inbound(db, id, err) : 0;
      if (err->code != LP_OK) { rc = err->code; json_decref(cols); break; }
      int64_t score = lp_score_of(rules, r, last, c->now);
      if (score != iget(r, "score")) json_object_set_new(cols, "score", json_integer(score));
    }
    if (model) {
      char *factors = NULL;
      int64_t bp = estimate(model, r, &factors);
      if (bp != iget(r, "win_bp") || !sget(r, "win_factors") || strcmp(sget(r, "win_factors"), factors ? factors : "")) {
        json_object_set_new(cols, "win_bp", json_integer(bp));
        json_object_set_new(cols, "win_factors", factors ? json_string(factors) : json_null());
      }
      free(factors);
    } else if (iget(r, "win_bp") != -1) {
      json_object_set_new(cols, "win_bp", json_integer(-1));
      json_object_set_new(cols, "win_factors", json_null());
    }
    if (json_object_size(cols)) {
      rc = lp_update(db, "leads", id, cols, -1, err);
      c->changed++;
    }
    json_decref(cols);
    if (rc != LP_OK) break;
  }
  c->more = c->after + BATCH < c->last;  /* the caller moves after on once this write is committed */
  json_decref(rows);
  json_decref(rules);
  json_decref(model);
  return rc;
}

lp_code lp_job_scoring(lp_store *s, lp_job *job, int64_t now, lp_err *err) {
  train_ctx t = {now, 0, 0, json_is_true(json_object_get(job->payload, "train")), 0, 0};
  if (lp_store_write(s, train_fn, &t, err) != LP_OK) return LP_EUNAVAILABLE;
  if (t.trained || t.skipped) cache_drop();
  /* The walk over the open leads is needed only when what it computes can have changed without a
   * change of the lead (the applier scores every change): a new model, new rules, or rules whose
   * points depend on time (age, recent activity). Otherwise the hourly run ends here: at a million
   * leads a walk is minutes of the writer's time. */
  int walk = t.trained || t.skipped || json_is_true(json_object_get(job->payload, "rescore")) ||
             json_is_true(json_object_get(job->payload, "train"));
  if (!walk) {
    lp_db *db = lp_store_reader(s, err);
    json_t *rules = NULL, *model = NULL;
    if (!db || in_use(db, now, &rules, &model, err) != LP_OK) return LP_EUNAVAILABLE;
    walk = lp_score_rules_enabled(rules) && (lp_score_rules_need_inbound(rules) || json_array_size(json_object_get(rules, "age")) > 0);
    json_decref(rules);
    json_decref(model);
    lp_store_release(s);
  }
  walk_ctx w = {now, 0, 0, 0, 0, 0};
  if (walk) {
    lp_db *db = lp_store_reader(s, err);
    if (!db) return LP_EUNAVAILABLE;
    w.last = lp_query_int(db, "SELECT COALESCE(MAX(id), 0) FROM leads", NULL, 0, err);
    lp_store_release(s);
    if (err->code != LP_OK) return LP_EUNAVAILABLE;
  }
  int changed = 0, seen = 0;
  while (walk) {
    if (lp_jobs_stopping()) return lp_fail(err, LP_EUNAVAILABLE, "the server is stopping; the walk runs again later");
    if (lp_store_write(s, walk_fn, &w, err) != LP_OK) return LP_EUNAVAILABLE;
    changed += w.changed;
    seen += w.seen;
    if (!w.more) break;
    w.after += BATCH;
    /* the lease runs on from the time now, not from when the job began */
    if (lp_job_progress(s, job->id, seen, 0, 0, job->clock ? job->clock() : now, err) != LP_OK) return LP_EUNAVAILABLE;
    /* leave the single writer to the requests between batches */
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  job->result = json_pack("{s:b, s:I, s:i, s:i}", "trained", t.trained, "closed_count", (json_int_t)t.closed, "leads", seen, "changed", changed);
  return LP_OK;
}
