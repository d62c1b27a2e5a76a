/* template.h — message templates: `{{lead.full_name}}`, `{{user.name}}`, `{{company.name}}`
 * placeholders checked when a template is saved and filled in when a message is written.
 *
 * Pure: no I/O, no global state besides the const field lists; thread-safe.
 *
 * Syntax: a placeholder is `{{` scope `.` field `}}`, with optional spaces or tabs inside the
 * braces (`{{ lead.full_name }}`). Scopes and fields are lower-case names from the lists below;
 * anything else between `{{` and `}}`, or a `{{` that is never closed, is an error. A single `{`
 * or `}` is plain text.
 *
 *   lead:    id full_name first_name company email phone request service city region country
 *            notes value_cents currency outcome
 *   user:    id name first_name email
 *   company: name email phone website address
 *
 * Values come from `vars`, a JSON object {"lead": {...}, "user": {...}, "company": {...}}; the
 * lead's and the user's API JSON can be passed as they are: `lead.email` / `lead.phone` fall
 * back to the first of `emails` / `phones`, and `first_name` to the first word of `full_name`
 * (lead) or `name` (user). Strings render as they are, integers in decimal, booleans as
 * yes/no; a known field without a value (missing, null, an object) renders as nothing.
 */
#ifndef LP_MSG_TEMPLATE_H
#define LP_MSG_TEMPLATE_H
#include <jansson.h>
#include "leadpath/error.h"
#include "util/buf.h"

/* Checks every placeholder of `text` (NULL counts as empty). LP_OK, or LP_EVALIDATION with
 * err->fields[field] (field: the template's field being checked, e.g. "body"; NULL gives
 * "template") naming every unknown or malformed placeholder, e.g.
 * "unknown placeholder {{lead.nmae}}". */
lp_code lp_tpl_check(const char *text, const char *field, lp_err *err);

/* Appends `text` with its placeholders filled from `vars` (may be NULL: every value empty) to
 * `out`. html_escape != 0 escapes & < > " ' in the values (not in the template's own text),
 * for an HTML body. Errors: LP_EVALIDATION as lp_tpl_check (then nothing is appended), or
 * LP_ETOOLARGE when out's cap is reached (out then holds a cut result). */
lp_code lp_tpl_render(const char *text, json_t *vars, int html_escape, lp_buf *out, lp_err *err);

/* 1 if scope.field is a known placeholder ("lead", "full_name"), else 0. */
int lp_tpl_known(const char *scope, const char *field);
#endif
