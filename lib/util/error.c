/* error.c — names, statuses and messages for lp_code, and the lp_err helpers. */
#include <stdarg.h>
#include <stdio.h>
#include "leadpath/error.h"

static const struct { const char *name; int status; const char *msg; } table[] = {
#define LP_X(e, name, status, msg) [e] = {name, status, msg},
  LP_ERRORS(LP_X)
#undef LP_X
};

const char *lp_code_name(lp_code c) { return c < LP_CODE_COUNT ? table[c].name : "internal"; }
int lp_code_status(lp_code c) { return c < LP_CODE_COUNT ? table[c].status : 500; }
const char *lp_code_message(lp_code c) { return c < LP_CODE_COUNT ? table[c].msg : "Internal error"; }

lp_code lp_fail(lp_err *err, lp_code code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  } else {
    snprintf(err->message, sizeof err->message, "%s", lp_code_message(code));
  }
  return code;
}

lp_code lp_fail_field(lp_err *err, const char *field, const char *reason) {
  if (!err) return LP_EVALIDATION;
  if (!err->fields) err->fields = json_object();
  if (!json_object_get(err->fields, field)) json_object_set_new(err->fields, field, json_string(reason));
  if (err->code != LP_EVALIDATION) {
    err->code = LP_EVALIDATION;
    snprintf(err->message, sizeof err->message, "%s", lp_code_message(LP_EVALIDATION));
  }
  return LP_EVALIDATION;
}

void lp_err_release(lp_err *err) {
  if (err->fields) json_decref(err->fields);
  err->fields = NULL;
  err->code = LP_OK;
  err->message[0] = 0;
}
