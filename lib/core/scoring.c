/* scoring.c — rule points and the naive Bayes win model (see scoring.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "core/scoring.h"

#define POINTS_MAX 1000
#define LIST_MAX 500
#define AGE_MAX 10
#define DAYS_MAX 3650

const char *const lp_nb_feature_names[LP_NB_FEATURES] = {"source", "location", "service", "country", "owner"};

/* The fields that earn points when filled, and the lead columns they look at. */
static const struct { const char *name, *col; } filled[] = {
  {"email", "emails"}, {"phone", "phones"}, {"company", "company"}, {"value_cents", "value_cents"},
  {"service", "service"}, {"country", "country"}, {"city", "city"}, {"location", "location_id"},
  {"request", "request"}, {"owner", "owner_id"}};
#define NFILLED (sizeof filled / sizeof *filled)

static int64_t iget(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* ---------------------------------------------------------------- rules */

json_t *lp_score_rules_default(void) {
  return json_pack("{s:b, s:[], s:[], s:[], s:{s:i, s:i}, s:[]}", "enabled", 0, "sources", "stages", "fields",
                   "recent_activity", "days", 7, "points", 0, "age");
}

int lp_score_rules_enabled(const json_t *rules) { return json_is_true(json_object_get(rules, "enabled")); }

int lp_score_rules_need_inbound(const json_t *rules) {
  return lp_score_rules_enabled(rules) && iget(json_object_get(rules, "recent_activity"), "points") != 0;
}

static int points_ok(json_t *v) { return json_is_integer(v) && llabs(json_integer_value(v)) <= POINTS_MAX; }

static void field_err(lp_err *err, const char *list, size_t i, const char *key, const char *why) {
  char name[96];
  if (key) snprintf(name, sizeof name, "%s[%zu].%s", list, i, key);
  else snprintf(name, sizeof name, "%s", list);
  lp_fail_field(err, name, why);
}

/* [{id, points}] with distinct positive ids. */
static json_t *id_points(json_t *v, const char *list, lp_err *err) {
  json_t *out = json_array();
  if (!v) return out;
  if (!json_is_array(v) || json_array_size(v) > LIST_MAX) { field_err(err, list, 0, NULL, "must be a list of {id, points} (at most 500)"); return out; }
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    json_t *id = json_object_get(e, "id"), *pts = json_object_get(e, "points");
    if (!json_is_object(e) || json_object_size(e) != 2 || !json_is_integer(id) || json_integer_value(id) <= 0) {
      field_err(err, list, i, "id", "must be the id of one (an object of id and points)");
      continue;
    }
    if (!points_ok(pts)) { field_err(err, list, i, "points", "must be a whole number from -1000 to 1000"); continue; }
    for (size_t j = 0; j < i; j++)
      if (iget(json_array_get(v, j), "id") == json_integer_value(id)) field_err(err, list, i, "id", "is listed twice");
    json_array_append_new(out, json_pack("{s:O, s:O}", "id", id, "points", pts));
  }
  return out;
}

json_t *lp_score_rules_check(json_t *body, lp_err *err) {
  if (!json_is_object(body)) { lp_fail(err, LP_EVALIDATION, "The rules must be an object"); return NULL; }
  static const char *const known[] = {"enabled", "sources", "stages", "fields", "recent_activity", "age", "version"};
  const char *k;
  json_t *v;
  json_object_foreach(body, k, v) {
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) ok |= !strcmp(known[i], k);
    if (!ok) lp_fail_field(err, k, "unknown key");
  }
  json_t *en = json_object_get(body, "enabled");
  if (en && !json_is_boolean(en)) lp_fail_field(err, "enabled", "must be true or false");
  json_t *out = json_object();
  json_object_set_new(out, "enabled", json_boolean(json_is_true(en)));
  json_object_set_new(out, "sources", id_points(json_object_get(body, "sources"), "sources", err));
  json_object_set_new(out, "stages", id_points(json_object_get(body, "stages"), "stages", err));
  json_t *fields = json_array(), *fv = json_object_get(body, "fields");
  if (fv && !json_is_array(fv)) field_err(err, "fields", 0, NULL, "must be a list of {field, points}");
  size_t i;
  json_t *e;
  json_array_foreach(fv, i, e) {
    const char *name = json_string_value(json_object_get(e, "field"));
    int known_field = 0;
    for (size_t j = 0; name && j < NFILLED; j++) known_field |= !strcmp(filled[j].name, name);
    if (!json_is_object(e) || json_object_size(e) != 2 || !known_field) {
      field_err(err, "fields", i, "field", "must be one of email, phone, company, value_cents, service, country, city, location, request, owner");
      continue;
    }
    if (!points_ok(json_object_get(e, "points"))) { field_err(err, "fields", i, "points", "must be a whole number from -1000 to 1000"); continue; }
    for (size_t j = 0; j < i; j++)
      if (!strcmp(json_string_value(json_object_get(json_array_get(fv, j), "field")) ? json_string_value(json_object_get(json_array_get(fv, j), "field")) : "", name))
        field_err(err, "fields", i, "field", "is listed twice");
    json_array_append_new(fields, json_pack("{s:s, s:O}", "field", name, "points", json_object_get(e, "points")));
  }
  json_object_set_new(out, "fields", fields);
  json_t *ra = json_object_get(body, "recent_activity");
  json_int_t days = 7, pts = 0;
  if (ra) {
    json_t *d = json_object_get(ra, "days"), *p = json_object_get(ra, "points");
    if (!json_is_object(ra) || json_object_size(ra) != 2 || !json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > DAYS_MAX)
      lp_fail_field(err, "recent_activity.days", "must be a number of days from 1 to 3650 (an object of days and points)");
    else days = json_integer_value(d);
    if (!points_ok(p)) lp_fail_field(err, "recent_activity.points", "must be a whole number from -1000 to 1000");
    else pts = json_integer_value(p);
  }
  json_object_set_new(out, "recent_activity", json_pack("{s:I, s:I}", "days", days, "points", pts));
  json_t *age = json_array(), *av = json_object_get(body, "age");
  if (av && (!json_is_array(av) || json_array_size(av) > AGE_MAX)) lp_fail_field(err, "age", "must be a list of at most 10 {max_days, points}");
  int64_t prev = -1;
  int open_ended = 0;
  json_array_foreach(json_is_array(av) ? av : NULL, i, e) {
    json_t *md = json_object_get(e, "max_days");
    if (!json_is_object(e) || json_object_size(e) != 2 || !md || (!json_is_null(md) && !json_is_integer(md))) {
      field_err(err, "age", i, "max_days", "must be a number of days or null (an object of max_days and points)");
      continue;
    }
    if (open_ended) { field_err(err, "age", i, "max_days", "no bucket may follow the open-ended one (max_days null)"); continue; }
    if (json_is_null(md)) open_ended = 1;
    else if (json_integer_value(md) <= prev || json_integer_value(md) > 100000) {
      field_err(err, "age", i, "max_days", "must grow from one bucket to the next (0 to 100000)");
      continue;
    } else prev = json_integer_value(md);
    if (!points_ok(json_object_get(e, "points"))) { field_err(err, "age", i, "points", "must be a whole number from -1000 to 1000"); continue; }
    json_array_append_new(age, json_pack("{s:O, s:O}", "max_days", md, "points", json_object_get(e, "points")));
  }
  json_object_set_new(out, "age", age);
  if (err->code != LP_OK) {
    if (!err->message[0] || !strcmp(err->message, lp_code_message(LP_EVALIDATION))) snprintf(err->message, sizeof err->message, "The scoring rules are not valid");
    json_decref(out);
    return NULL;
  }
  return out;
}

/* ---------------------------------------------------------------- points */

static int is_filled(const json_t *lead, const char *col) {
  json_t *v = json_object_get(lead, col);
  if (!v || json_is_null(v)) return 0;
  if (json_is_array(v)) return json_array_size(v) > 0;
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!strcmp(col, "emails") || !strcmp(col, "phones")) return strcmp(s, "") && strcmp(s, "[]");
    return *s != 0;
  }
  return 1;
}

static int64_t id_points_of(const json_t *list, int64_t id) {
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) if (iget(e, "id") == id) return iget(e, "points");
  return 0;
}

int64_t lp_score_of(const json_t *rules, const json_t *lead, int64_t last_inbound_at, int64_t now) {
  if (!lp_score_rules_enabled(rules)) return 0;
  int64_t score = 0;
  if (json_is_integer(json_object_get(lead, "source_id"))) score += id_points_of(json_object_get(rules, "sources"), iget(lead, "source_id"));
  if (json_is_integer(json_object_get(lead, "stage_id"))) score += id_points_of(json_object_get(rules, "stages"), iget(lead, "stage_id"));
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(rules, "fields"), i, e) {
    const char *name = json_string_value(json_object_get(e, "field"));
    for (size_t j = 0; name && j < NFILLED; j++)
      if (!strcmp(filled[j].name, name) && is_filled(lead, filled[j].col)) score += iget(e, "points");
  }
  json_t *ra = json_object_get(rules, "recent_activity");
  if (iget(ra, "points") && last_inbound_at > 0 && now - last_inbound_at <= iget(ra, "days") * 86400) score += iget(ra, "points");
  json_t *closed = json_object_get(lead, "closed_at");
  int64_t end = json_is_integer(closed) && json_integer_value(closed) > 0 ? json_integer_value(closed) : now;
  int64_t created = iget(lead, "created_at");
  int64_t age = end > created ? (end - created) / 86400 : 0;
  json_array_foreach(json_object_get(rules, "age"), i, e) {
    json_t *md = json_object_get(e, "max_days");
    if (json_is_null(md) || age <= json_integer_value(md)) { score += iget(e, "points"); break; }
  }
  return score;
}

/* ---------------------------------------------------------------- naive Bayes */

json_t *lp_nb_train(const lp_nb_row *rows, size_t n, int64_t min_closed) {
  int64_t won = 0, lost = 0;
  json_t *feats = json_object();
  for (int f = 0; f < LP_NB_FEATURES; f++) json_object_set_new(feats, lp_nb_feature_names[f], json_object());
  for (size_t i = 0; i < n; i++) {
    if (rows[i].count <= 0) continue;
    if (rows[i].won) won += rows[i].count;
    else lost += rows[i].count;
    for (int f = 0; f < LP_NB_FEATURES; f++) {
      json_t *tab = json_object_get(feats, lp_nb_feature_names[f]);
      const char *v = rows[i].feat[f] ? rows[i].feat[f] : "";
      json_t *cell = json_object_get(tab, v);
      if (!cell) { cell = json_pack("[i, i]", 0, 0); json_object_set_new(tab, v, cell); }
      size_t k = rows[i].won ? 0 : 1;
      json_array_set_new(cell, k, json_integer(json_integer_value(json_array_get(cell, k)) + rows[i].count));
    }
  }
  if (won + lost < min_closed || !won || !lost) { json_decref(feats); return NULL; }
  return json_pack("{s:I, s:I, s:o}", "won", (json_int_t)won, "lost", (json_int_t)lost, "features", feats);
}

double lp_nb_predict(const json_t *model, const char *const feat[LP_NB_FEATURES], lp_nb_factor out[3], int *nout) {
  double won = (double)iget(model, "won"), lost = (double)iget(model, "lost");
  /* the prior, smoothed too */
  double logit = log((won + 1) / (lost + 1));
  lp_nb_factor all[LP_NB_FEATURES];
  json_t *feats = json_object_get(model, "features");
  for (int f = 0; f < LP_NB_FEATURES; f++) {
    json_t *tab = json_object_get(feats, lp_nb_feature_names[f]);
    const char *v = feat[f] ? feat[f] : "";
    json_t *cell = json_object_get(tab, v);
    /* Laplace: one more for every value seen, and one for a value never seen */
    double k = (double)json_object_size(tab) + (cell ? 0 : 1);
    double cw = cell ? (double)json_integer_value(json_array_get(cell, 0)) : 0;
    double cl = cell ? (double)json_integer_value(json_array_get(cell, 1)) : 0;
    double w = log((cw + 1) / (won + k)) - log((cl + 1) / (lost + k));
    logit += w;
    all[f] = (lp_nb_factor){f, v, w};
  }
  /* the three largest by |weight|, ties in feature order */
  int n = 0;
  for (int pick = 0; pick < 3; pick++) {
    int best = -1;
    for (int f = 0; f < LP_NB_FEATURES; f++) {
      int used = 0;
      for (int j = 0; j < n; j++) used |= out[j].feature == f;
      if (used || fabs(all[f].weight) < 1e-9) continue;
      if (best < 0 || fabs(all[f].weight) > fabs(all[best].weight)) best = f;
    }
    if (best < 0) break;
    out[n++] = all[best];
  }
  *nout = n;
  double p = 1.0 / (1.0 + exp(-logit));
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

int64_t lp_nb_estimate(const json_t *model, const char *const feat[LP_NB_FEATURES], char **factors) {
  lp_nb_factor fs[3];
  int n = 0;
  double p = lp_nb_predict(model, feat, fs, &n);
  json_t *arr = json_array(), *labels = json_object_get(model, "labels");
  for (int i = 0; i < n; i++) {
    const char *name = lp_nb_feature_names[fs[i].feature];
    const char *label = json_string_value(json_object_get(json_object_get(labels, name), fs[i].value));
    if (!label) label = *fs[i].value ? fs[i].value : "(none)";
    double w = round(fs[i].weight * 1000) / 1000;
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:f, s:s}", "feature", name, "value", fs[i].value, "label", label,
                                         "weight", w, "direction", fs[i].weight > 0 ? "up" : "down"));
  }
  *factors = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(6));
  json_decref(arr);
  return (int64_t)llround(p * 10000);
}
