/* reports_flow.h — GET /api/v1/reports/aging, /funnel, /win-back (reports_flow.c). */
#ifndef LP_HTTP_ROUTES_REPORTS_FLOW_H
#define LP_HTTP_ROUTES_REPORTS_FLOW_H
#include "http/http.h"
lp_code h_report_aging(lp_req *r);
lp_code h_report_funnel(lp_req *r);
lp_code h_report_winback(lp_req *r);
#endif
