/* digest.h — POST /api/v1/reports/digest/preview and /send (routes/digest.c). */
#ifndef LP_HTTP_ROUTES_DIGEST_H
#define LP_HTTP_ROUTES_DIGEST_H
#include "http/http.h"
lp_code h_digest_preview(lp_req *r);
lp_code h_digest_send(lp_req *r);
#endif
