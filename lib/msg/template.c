/* template.c — checking and rendering `{{scope.field}}` placeholders (see template.h). */
#include <stdio.h>
#include <string.h>
#include "msg/template.h"

/* The known fields of each scope, space-separated with a space at both ends for lookup. */
static const struct { const char *scope; const char *fields; } known[] = {
  {"lead", " id full_name first_name company email phone request service city region country"
           " notes value_cents currency outcome "},
  {"user", " id name first_name email "},
  {"company", " name email phone website address "},
  {"quote", " id number total subtotal tax currency valid_until "},  /* the quote e-mail (store/billing.c) */
};

#define NAME_MAX_LEN 40

static int is_space(char c) { return c == ' ' || c == '\t'; }
static int is_name(char c) { return (c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9'); }

static const char *fields_of(const char *scope) {
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(known[i].scope, scope) == 0) return known[i].fields;
  return NULL;
}

int lp_tpl_known(const char *scope, const char *field) {
  const char *list = scope && field ? fields_of(scope) : NULL;
  size_t n = list ? strlen(field) : 0;
  if (!n || n > NAME_MAX_LEN) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_name(field[i])) return 0;
  for (const char *p = strstr(list, field); p; p = strstr(p + 1, field))
    if (p[-1] == ' ' && p[n] == ' ') return 1;
  return 0;
}

/* One placeholder: its text between the braces (trimmed) split into scope and field. */
typedef struct {
  const char *start;     /* at "{{" */
  const char *end;       /* just past "}}", or NULL when never closed */
  char scope[NAME_MAX_LEN + 1], field[NAME_MAX_LEN + 1];
  int ok;                /* 1: well-formed and known */
} placeholder;

/* Reads the placeholder that starts at p ("{{"). */
static void read_placeholder(const char *p, placeholder *ph) {
  memset(ph, 0, sizeof *ph);
  ph->start = p;
  const char *close = strstr(p + 2, "}}");
  if (!close) return;
  ph->end = close + 2;
  const char *a = p + 2, *b = close;
  while (a < b && is_space(*a)) a++;
  while (b > a && is_space(b[-1])) b--;
  const char *dot = memchr(a, '.', (size_t)(b - a));
  if (!dot || dot == a || dot + 1 == b) return;
  size_t ns = (size_t)(dot - a), nf = (size_t)(b - dot - 1);
  if (ns > NAME_MAX_LEN || nf > NAME_MAX_LEN) return;
  for (const char *q = a; q < b; q++)
    if (q != dot && !is_name(*q)) return;
  memcpy(ph->scope, a, ns);
  memcpy(ph->field, dot + 1, nf);
  ph->ok = lp_tpl_known(ph->scope, ph->field);
}

/* Adds a readable description of a bad placeholder to `why` ("unknown placeholder {{x.y}}"). */
static void describe(lp_buf *why, const placeholder *ph) {
  if (why->len) lp_buf_puts(why, "; ");
  if (!ph->end) {
    lp_buf_puts(why, "unclosed placeholder: '{{' without '}}'");
    return;
  }
  size_t n = (size_t)(ph->end - ph->start);
  int cut = n > 60;
  lp_buf_printf(why, "%s placeholder %.*s%s", ph->scope[0] ? "unknown" : "malformed",
                (int)(cut ? 60 : n), ph->start, cut ? "..." : "");
}

static lp_code fail(lp_buf *why, const char *field, lp_err *err) {
  const char *f = field ? field : "template";
  lp_fail_field(err, f, lp_buf_str(why));
  if (err) snprintf(err->message, sizeof err->message, "Template %s: %s", f, lp_buf_str(why));
  lp_buf_release(why);
  return LP_EVALIDATION;
}

lp_code lp_tpl_check(const char *text, const char *field, lp_err *err) {
  lp_buf why = LP_BUF_INIT(2000);
  for (const char *p = text ? strstr(text, "{{") : NULL; p; ) {
    placeholder ph;
    read_placeholder(p, &ph);
    if (!ph.ok) describe(&why, &ph);
    if (!ph.end) break;
    p = strstr(ph.end, "{{");
  }
  if (why.len) return fail(&why, field, err);
  lp_buf_release(&why);
  return LP_OK;
}

/* ---- values ---------------------------------------------------------------------------- */

static json_t *first_of(json_t *arr) {
  json_t *v = json_is_array(arr) ? json_array_get(arr, 0) : NULL;
  return json_is_string(v) ? v : NULL;
}

/* The value of scope.field in vars, following the fallbacks of template.h; NULL when none.
 * For first_name, *len limits the string to its first word. */
static json_t *lookup(json_t *vars, const placeholder *ph, size_t *len) {
  json_t *obj = json_object_get(vars, ph->scope);
  json_t *v = json_object_get(obj, ph->field);
  *len = (size_t)-1;
  if (v && !json_is_null(v)) return v;
  if (strcmp(ph->field, "email") == 0) return first_of(json_object_get(obj, "emails"));
  if (strcmp(ph->field, "phone") == 0) return first_of(json_object_get(obj, "phones"));
  if (strcmp(ph->field, "first_name") == 0) {
    json_t *full = json_object_get(obj, strcmp(ph->scope, "lead") == 0 ? "full_name" : "name");
    if (!json_is_string(full)) return NULL;
    const char *s = json_string_value(full);
    size_t skip = strspn(s, " \t"), n = strcspn(s + skip, " \t");
    *len = skip + n;
    return full;
  }
  return NULL;
}

static void put_escaped(lp_buf *out, const char *s, size_t n, int html) {
  if (!html) { lp_buf_add(out, s, n); return; }
  size_t from = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep = NULL;
    switch (s[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default: continue;
    }
    lp_buf_add(out, s + from, i - from);
    lp_buf_puts(out, rep);
    from = i + 1;
  }
  lp_buf_add(out, s + from, n - from);
}

static void put_value(lp_buf *out, json_t *v, size_t len, int html) {
  char num[64];
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (len != (size_t)-1 && len < n) n = len;
    size_t skip = len != (size_t)-1 ? strspn(s, " \t") : 0;  /* first_name: no leading blanks */
    put_escaped(out, s + skip, n - skip, html);
  } else if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    lp_buf_puts(out, num);
  } else if (json_is_real(v)) {
    snprintf(num, sizeof num, "%.15g", json_real_value(v));
    lp_buf_puts(out, num);
  } else if (json_is_boolean(v)) {
    lp_buf_puts(out, json_is_true(v) ? "yes" : "no");
  }
}

lp_code lp_tpl_render(const char *text, json_t *vars, int html_escape, lp_buf *out, lp_err *err) {
  lp_code rc = lp_tpl_check(text, NULL, err);
  if (rc != LP_OK) return rc;
  const char *p = text ? text : "";
  for (;;) {
    const char *open = strstr(p, "{{");
    if (!open) { lp_buf_puts(out, p); break; }
    lp_buf_add(out, p, (size_t)(open - p));
    placeholder ph;
    read_placeholder(open, &ph);   /* checked above: well-formed and known */
    size_t len;
    json_t *v = lookup(vars, &ph, &len);
    if (v) put_value(out, v, len, html_escape);
    p = ph.end;
  }
  if (out->overflow) return lp_fail(err, LP_ETOOLARGE, "The rendered message is too large");
  return LP_OK;
}
