/* formhtml.c — the form field catalogue, the embeddable snippet and the answer pages (see
 * formhtml.h). The snippet is plain HTML: it posts as application/x-www-form-urlencoded, which
 * the public endpoint reads as well as JSON. */
#include <string.h>
#include "msg/formhtml.h"

/* The lead fields a visitor may fill in. Internal fields (owner, stage, notes, value, score,
 * opt-outs, ...) are never offered: a public form must not set them. */
const lp_form_field lp_form_fields[] = {
  {"full_name", "full_name", "Full name", "text", "name", 200},
  {"email", "emails", "Email", "email", "email", 254},
  {"phone", "phones", "Phone", "tel", "tel", 40},
  {"company", "company", "Company", "text", "organization", 200},
  {"country", "country", "Country (two-letter code)", "text", "country", 2},
  {"region", "region", "Region", "text", "address-level1", 200},
  {"city", "city", "City", "text", "address-level2", 200},
  {"service", "service", "Service", "text", NULL, 200},
  {"request", "request", "Your request", "textarea", NULL, 4000},
};
const size_t lp_form_fields_n = sizeof lp_form_fields / sizeof *lp_form_fields;

const lp_form_field *lp_form_field_find(const char *name) {
  for (size_t i = 0; name && i < lp_form_fields_n; i++)
    if (!strcmp(lp_form_fields[i].name, name)) return &lp_form_fields[i];
  return NULL;
}

json_t *lp_form_catalogue(void) {
  json_t *out = json_array();
  for (size_t i = 0; i < lp_form_fields_n; i++)
    json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I}", "name", lp_form_fields[i].name, "label", lp_form_fields[i].label,
                                         "type", lp_form_fields[i].input, "max_length", (json_int_t)lp_form_fields[i].max));
  return out;
}

void lp_html_escape(lp_buf *out, const char *s) {
  if (!s) return;
  const char *run = s;
  for (const char *p = s; *p; p++) {
    const char *rep = NULL;
    switch (*p) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default: continue;
    }
    lp_buf_add(out, run, (size_t)(p - run));
    lp_buf_puts(out, rep);
    run = p + 1;
  }
  lp_buf_puts(out, run);
}

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* id="lp-<key>-<name>": the key is [a-z0-9_-], the name from the catalogue; escaped all the same. */
static void field_id(lp_buf *out, const char *key, const char *name) {
  lp_buf_puts(out, "lp-");
  lp_html_escape(out, key);
  lp_buf_puts(out, "-");
  lp_html_escape(out, name);
}

static void input(lp_buf *out, const char *key, const char *name, const char *label, const char *type, const char *ac,
                  size_t max, int required) {
  lp_buf_puts(out, "  <p>\n    <label for=\"");
  field_id(out, key, name);
  lp_buf_puts(out, "\">");
  lp_html_escape(out, label);
  if (required) lp_buf_puts(out, " *");
  lp_buf_puts(out, "</label><br>\n    ");
  if (!strcmp(type, "textarea")) {
    lp_buf_puts(out, "<textarea id=\"");
    field_id(out, key, name);
    lp_buf_puts(out, "\" name=\"");
    lp_html_escape(out, name);
    lp_buf_printf(out, "\" rows=\"5\" maxlength=\"%zu\"%s></textarea>\n  </p>\n", max, required ? " required" : "");
    return;
  }
  lp_buf_puts(out, "<input id=\"");
  field_id(out, key, name);
  lp_buf_puts(out, "\" name=\"");
  lp_html_escape(out, name);
  lp_buf_puts(out, "\" type=\"");
  lp_html_escape(out, type);
  lp_buf_printf(out, "\" maxlength=\"%zu\"", max);
  if (!strcmp(type, "password")) lp_buf_printf(out, " minlength=\"%d\"", LP_PORTAL_PASSWORD_MIN);
  if (ac) {
    lp_buf_puts(out, " autocomplete=\"");
    lp_html_escape(out, ac);
    lp_buf_puts(out, "\"");
  }
  lp_buf_printf(out, "%s>\n  </p>\n", required ? " required" : "");
}

void lp_form_snippet(json_t *form, const char *action, lp_buf *out) {
  const char *key = sget(form, "key") ? sget(form, "key") : "";
  const char *kind = sget(form, "kind") ? sget(form, "kind") : "lead";
  lp_buf_puts(out, "<!-- leadpath form: ");
  /* a comment cannot hold "--": the name is escaped and its dashes are left out */
  for (const char *p = sget(form, "name") ? sget(form, "name") : ""; *p; p++)
    if (*p != '-') {
      char c[2] = {*p, 0};
      lp_html_escape(out, c);
    }
  lp_buf_puts(out, " -->\n<form class=\"leadpath-form\" action=\"");
  lp_html_escape(out, action);
  lp_buf_puts(out, "\" method=\"post\" accept-charset=\"utf-8\" data-leadpath-form=\"");
  lp_html_escape(out, key);
  lp_buf_puts(out, "\">\n");
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(form, "fields"), i, f) {
    const lp_form_field *c = lp_form_field_find(sget(f, "name"));
    if (!c) continue;
    const char *label = sget(f, "label") && *sget(f, "label") ? sget(f, "label") : c->label;
    input(out, key, c->name, label, c->input, c->autocomplete, c->max, json_is_true(json_object_get(f, "required")));
  }
  if (!strcmp(kind, "portal_signup"))
    input(out, key, "password", "Choose a password (at least 8 characters)", "password", "new-password", LP_PORTAL_PASSWORD_MAX, 1);
  /* the honeypot: off-screen and out of the tab order, so only a bot fills it */
  lp_buf_puts(out, "  <div aria-hidden=\"true\" style=\"position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden\">\n"
                   "    <label>Leave this field empty <input name=\"" LP_FORM_HONEYPOT "\" type=\"text\" tabindex=\"-1\" autocomplete=\"off\"></label>\n"
                   "  </div>\n  <p><button type=\"submit\">");
  lp_buf_puts(out, !strcmp(kind, "portal_signup") ? "Sign up" : "Send");
  lp_buf_puts(out, "</button></p>\n</form>\n");
}

void lp_form_page(const char *title, const char *text, json_t *fields, lp_buf *out) {
  lp_buf_puts(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  lp_html_escape(out, title);
  lp_buf_puts(out, "</title>\n</head>\n<body>\n<main>\n<h1>");
  lp_html_escape(out, title);
  lp_buf_puts(out, "</h1>\n<p>");
  /* paragraphs at blank lines, <br> at single line breaks; everything else as text */
  for (const char *p = text ? text : ""; *p; p++) {
    if (*p == '\r') continue;
    if (*p == '\n') {
      if (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n')) {
        lp_buf_puts(out, "</p>\n<p>");
        while (p[1] == '\n' || p[1] == '\r') p++;
      } else {
        lp_buf_puts(out, "<br>\n");
      }
      continue;
    }
    char c[2] = {*p, 0};
    lp_html_escape(out, c);
  }
  lp_buf_puts(out, "</p>\n");
  if (json_object_size(fields)) {
    lp_buf_puts(out, "<ul>\n");
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) {
      lp_buf_puts(out, "<li>");
      const lp_form_field *c = lp_form_field_find(k);
      lp_html_escape(out, c ? c->label : !strcmp(k, "password") ? "Password" : k);
      lp_buf_puts(out, ": ");
      lp_html_escape(out, json_is_string(v) ? json_string_value(v) : "not valid");
      lp_buf_puts(out, "</li>\n");
    }
    lp_buf_puts(out, "</ul>\n<p>Go back, correct the form and send it again.</p>\n");
  }
  lp_buf_puts(out, "</main>\n</body>\n</html>\n");
}
