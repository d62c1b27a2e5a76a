/* scoring.h — /api/v1/scoring: the rules, the win model, a run now (scoring.c). */
#ifndef LP_HTTP_ROUTES_SCORING_H
#define LP_HTTP_ROUTES_SCORING_H
#include "http/http.h"
lp_code h_scoring_rules_get(lp_req *r);
lp_code h_scoring_rules_put(lp_req *r);
lp_code h_scoring_model_get(lp_req *r);
lp_code h_scoring_run(lp_req *r);
#endif
