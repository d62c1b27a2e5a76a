/* gate.h — the one gate every public call (/public/v1: web chat, web forms, portal) passes
 * before anything is read or stored (routes/gate.c). */
#ifndef LP_HTTP_GATE_H
#define LP_HTTP_GATE_H
#include "http/http.h"

#define LP_PUBLIC_BODY_MAX (16 * 1024)   /* bytes in one public request body */

/* CORS: a request with an Origin must come from one of the chat_origins setting (the company's
 * own sites); it gets Access-Control-Allow-Origin for that origin only, any other origin is 403.
 * A call without Origin (not a browser's cross-site call) passes. Then a per-client-address
 * token bucket (429 past it) and the body cap (413). what ("chat", "form", ...) words the refusals. */
lp_code lp_public_gate(lp_req *r, const char *what);
#endif
