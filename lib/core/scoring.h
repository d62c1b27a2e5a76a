/* scoring.h — lead scoring, pure functions (no I/O, time as a parameter).
 *
 * Two numbers on every lead (docs/scoring.md):
 *  - score: the points of the admin's rules (lp_score_rules_check validates them, lp_score_of
 *    adds them up): per source, per stage, per filled field, for a message from the lead within
 *    N days, and per age bucket (may be negative).
 *  - win probability: a naive Bayes model over source, location, service, country and owner
 *    learned from the team's closed history (won against lost), with Laplace smoothing; with
 *    each estimate the features that moved it most (their log-odds weights). */
#ifndef LP_CORE_SCORING_H
#define LP_CORE_SCORING_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "leadpath/error.h"

/* ---------------------------------------------------------------- rules */

/* Checks a rules document as PUT sends it and answers its stored form (a new reference): every
 * key with its default, unknown keys refused; NULL with err (LP_EVALIDATION, the field named)
 * when it is not valid. Source and stage ids are checked to exist by the store. */
json_t *lp_score_rules_check(json_t *body, lp_err *err);
/* The rules as stored when none were ever set (scoring off). */
json_t *lp_score_rules_default(void);
/* Whether the rules are switched on. */
int lp_score_rules_enabled(const json_t *rules);
/* Whether the rules give points for recent inbound activity (the one part that needs the
 * lead's messages). */
int lp_score_rules_need_inbound(const json_t *rules);

/* The lead's points. lead: the lead's row form (source_id, stage_id, emails/phones as JSON text
 * or arrays, company, value_cents, service, country, location_id, request, created_at, closed_at);
 * last_inbound_at: the newest message from the lead (0: none). */
int64_t lp_score_of(const json_t *rules, const json_t *lead, int64_t last_inbound_at, int64_t now);

/* ---------------------------------------------------------------- naive Bayes */

#define LP_NB_FEATURES 5
extern const char *const lp_nb_feature_names[LP_NB_FEATURES];  /* source, location, service, country, owner */

/* One group of closed leads with the same features (NULL or "": none) and class. */
typedef struct { const char *feat[LP_NB_FEATURES]; int won; int64_t count; } lp_nb_row;

/* Trains the model: {"won": W, "lost": L, "features": {"source": {"<value>": [won, lost], ...}, ...}}
 * (a new reference). The value "" stands for a lead without that feature. NULL when the history
 * cannot teach anything: fewer than min_closed leads, or no lead of one class. */
json_t *lp_nb_train(const lp_nb_row *rows, size_t n, int64_t min_closed);

typedef struct { int feature; const char *value; double weight; } lp_nb_factor;  /* value: borrowed from the input */

/* The probability that a lead with these features is won, and up to 3 factors — the features
 * whose evidence moved the estimate most, by |weight| (the feature's log-odds contribution,
 * positive towards won) — into out (nout set). Returns the probability, in 0..1. */
double lp_nb_predict(const json_t *model, const char *const feat[LP_NB_FEATURES], lp_nb_factor out[3], int *nout);

/* A lead's estimate as stored: the probability in basis points (0..10000), and its factors as
 * JSON text (*factors, new string: [{feature, value, label, weight, direction}], labels from the
 * model's "labels" by feature and value, else the value, else "(none)"). */
int64_t lp_nb_estimate(const json_t *model, const char *const feat[LP_NB_FEATURES], char **factors);

#endif
