/* auth.h — authentication of requests, CSRF and the cache of who a token is. */
#ifndef LP_HTTP_AUTH_H
#define LP_HTTP_AUTH_H
#include "http/http.h"
/* Authenticates from "Authorization: Bearer" or the session cookie; fills r->actor. */
lp_code lp_auth_request(lp_req *r);
int lp_auth_csrf_ok(lp_req *r, const char *token);
/* Drop cached identities: one token (by its stored hash), or all of them (roles or users changed). */
void lp_auth_forget_hash(const char *token_hash_hex);
void lp_auth_forget_all(void);
#endif
