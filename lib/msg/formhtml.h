/* formhtml.h — web forms without I/O: the catalogue of lead fields a public form may ask for,
 * the embeddable HTML snippet of a form, and the small pages answered to a browser's plain form
 * post (thank you, or what went wrong). Everything written into HTML goes through lp_html_escape.
 * The store (store/forms.c) keeps forms and takes submissions; docs/forms.md tells the behaviour. */
#ifndef LP_MSG_FORMHTML_H
#define LP_MSG_FORMHTML_H
#include <jansson.h>
#include <stddef.h>
#include "util/buf.h"

/* One field a form may ask for: its name in the form and the submission, the lead field it fills
 * (emails / phones take one address each), its default label, the HTML input type, the
 * autocomplete token and the most bytes it takes. */
typedef struct lp_form_field {
  const char *name, *lead_field, *label, *input, *autocomplete;
  size_t max;
} lp_form_field;

extern const lp_form_field lp_form_fields[];
extern const size_t lp_form_fields_n;
/* The catalogue entry of name, or NULL. */
const lp_form_field *lp_form_field_find(const char *name);
/* The catalogue as the API shows it: [{name, label, type, max_length}] (new reference). */
json_t *lp_form_catalogue(void);

#define LP_FORM_HONEYPOT "website"     /* filled only by bots: the snippet hides it */
#define LP_PORTAL_PASSWORD_MIN 8
#define LP_PORTAL_PASSWORD_MAX 1024

/* Appends s with & < > " ' escaped (text and attribute values alike). */
void lp_html_escape(lp_buf *out, const char *s);
/* The snippet of a presented form ({key, name, kind, fields: [{name, label, required}]}) posting
 * to action (an absolute URL). A plain <form method="post"> that works without JavaScript, with
 * the honeypot field hidden off-screen; a portal sign-up adds the password field. */
void lp_form_snippet(json_t *form, const char *action, lp_buf *out);
/* A complete small HTML page: title as <h1>, text as paragraphs (blank lines part them; line
 * breaks kept), and for an error the fields at fault (fields: object name -> reason, may be NULL). */
void lp_form_page(const char *title, const char *text, json_t *fields, lp_buf *out);
#endif
