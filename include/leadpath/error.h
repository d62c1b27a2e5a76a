/* error.h — the one error type of leadpath.
 *
 * Every failure the library reports is an lp_code from the table below, which gives each code
 * its stable name (the contract's "code"), its HTTP status and a default message. Details travel
 * in an lp_err the caller owns: a human message and, for validation, the fields at fault. The
 * library never prints or logs; src/ turns an lp_err into an HTTP answer or a CLI message.
 */
#ifndef LEADPATH_ERROR_H
#define LEADPATH_ERROR_H
#include <jansson.h>

/*        enum name              contract code              status  default message */
#define LP_ERRORS(X)                                                                        \
  X(LP_OK,                   "ok",                       200, "OK")                          \
  X(LP_EBADREQ,              "bad_request",              400, "The request is malformed")    \
  X(LP_EUNAUTH,              "unauthorized",             401, "Authentication is required")  \
  X(LP_EFORBIDDEN,           "forbidden",                403, "You may not do that")         \
  X(LP_ENOTFOUND,            "not_found",                404, "Not found")                   \
  X(LP_EMETHOD,              "bad_request",              405, "Method not allowed")          \
  X(LP_ECONFLICT,            "conflict",                 409, "The request conflicts with the current state") \
  X(LP_EVERSION,             "version_mismatch",         412, "The record has changed since you read it") \
  X(LP_ETOOLARGE,            "too_large",                413, "The request body is too large") \
  X(LP_EURILONG,             "too_large",                414, "The URL is too long")         \
  X(LP_EMEDIA,               "unsupported_media_type",   415, "Send JSON with Content-Type: application/json") \
  X(LP_EVALIDATION,          "validation_failed",        422, "Some fields are not valid")   \
  X(LP_ERATE,                "rate_limited",             429, "Too many requests; try again later") \
  X(LP_EINTERNAL,            "internal",                 500, "Internal error")              \
  X(LP_EUNAVAILABLE,         "unavailable",              503, "The database is unavailable; try again")

typedef enum lp_code {
#define LP_X(e, name, status, msg) e,
  LP_ERRORS(LP_X)
#undef LP_X
  LP_CODE_COUNT
} lp_code;

/* Error detail, owned by the caller (usually on its stack). Initialise with LP_ERR_INIT and
 * release with lp_err_release() (it owns `fields`, a JSON object field -> reason, or NULL). */
typedef struct lp_err {
  lp_code code;
  char message[256];
  json_t *fields;
} lp_err;
#define LP_ERR_INIT {LP_OK, {0}, NULL}

const char *lp_code_name(lp_code c);     /* "validation_failed" */
int lp_code_status(lp_code c);           /* 422 */
const char *lp_code_message(lp_code c);  /* default human message */

/* Sets code and message (printf format; NULL for the default message). Returns code, so
 * `return lp_fail(err, LP_ENOTFOUND, "No lead %lld", id);` reads naturally. */
lp_code lp_fail(lp_err *err, lp_code code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds one field problem and sets the code to LP_EVALIDATION (message defaults). */
lp_code lp_fail_field(lp_err *err, const char *field, const char *reason);
void lp_err_release(lp_err *err);
#endif
