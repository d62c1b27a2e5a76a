/* importmap.c — columns of an imported CSV file to lead fields (see importmap.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "core/importmap.h"
#include "core/leadcsv.h"
#include "core/record.h"
#include "util/buf.h"

/* Common names of fields, compared with a header lower-cased and stripped of everything that is
 * not a letter or digit ("E-mail address" → "emailaddress"). A field's own name is always known. */
static const struct { const char *name, *field; } synonyms[] = {
  {"name", "full_name"}, {"fullname", "full_name"}, {"contact", "full_name"}, {"contactname", "full_name"},
  {"leadname", "full_name"}, {"customername", "full_name"}, {"clientname", "full_name"}, {"personname", "full_name"},
  {"firstname", "full_name"}, {"lastname", "full_name"}, {"givenname", "full_name"}, {"familyname", "full_name"},
  {"surname", "full_name"}, {"forename", "full_name"}, {"first", "full_name"}, {"last", "full_name"},
  {"company", "company"}, {"companyname", "company"}, {"organisation", "company"}, {"organization", "company"},
  {"org", "company"}, {"account", "company"}, {"accountname", "company"}, {"business", "company"}, {"employer", "company"},
  {"email", "emails"}, {"emails", "emails"}, {"emailaddress", "emails"}, {"mail", "emails"}, {"workemail", "emails"},
  {"homeemail", "emails"}, {"email1", "emails"}, {"email2", "emails"}, {"emailaddresses", "emails"},
  {"phone", "phones"}, {"phones", "phones"}, {"phonenumber", "phones"}, {"telephone", "phones"}, {"tel", "phones"},
  {"mobile", "phones"}, {"mobilephone", "phones"}, {"mobilenumber", "phones"}, {"cell", "phones"}, {"cellphone", "phones"},
  {"workphone", "phones"}, {"homephone", "phones"}, {"phone1", "phones"}, {"phone2", "phones"}, {"phonenumbers", "phones"},
  {"country", "country"}, {"countrycode", "country"},
  {"region", "region"}, {"state", "region"}, {"province", "region"}, {"county", "region"},
  {"city", "city"}, {"town", "city"},
  {"service", "service"}, {"product", "service"}, {"interest", "service"},
  {"request", "request"}, {"message", "request"}, {"inquiry", "request"}, {"enquiry", "request"}, {"description", "request"},
  {"notes", "notes"}, {"note", "notes"}, {"comments", "notes"}, {"comment", "notes"}, {"remarks", "notes"},
  {"owneremail", "owner_email"}, {"assignedtoemail", "owner_email"},
  {"login", "login"}, {"username", "login"},
};

static int importable(const lp_field *f, int admin) {
  if (!strcmp(f->name, "version")) return 0;
  if (f->flags & FF_WRITE) return !(f->flags & FF_ADMIN) || admin;
  return (f->flags & FF_CREATE) && (f->flags & FF_ADMIN) && admin;  /* history fields */
}

static int known(const char *field, int admin) {
  if (!strcmp(field, "owner_email")) return 1;
  const lp_field *f = lp_rec_field(&lp_rt_lead, field);
  return f && importable(f, admin);
}

json_t *lp_import_fields(int admin) {
  json_t *a = json_array();
  for (const lp_field *f = lp_rt_lead.fields; f->name; f++) {
    if (!importable(f, admin)) continue;
    json_array_append_new(a, json_string(f->name));
    if (!strcmp(f->name, "owner_id")) json_array_append_new(a, json_string("owner_email"));
  }
  return a;
}

const char *lp_import_suggest(const char *header, int admin) {
  char k[64];
  size_t n = 0;
  for (const char *p = header; *p && n < sizeof k - 1; p++)
    if (isalnum((unsigned char)*p)) k[n++] = (char)tolower((unsigned char)*p);
  k[n] = 0;
  if (!n) return NULL;
  /* the field's own name, as the export writes it (owner_email, value_cents, ...) */
  for (const lp_field *f = lp_rt_lead.fields; f->name; f++) {
    char m[64];
    size_t j = 0;
    for (const char *p = f->name; *p && j < sizeof m - 1; p++) if (*p != '_') m[j++] = *p;
    m[j] = 0;
    if (!strcmp(m, k) && importable(f, admin)) return f->name;
  }
  for (size_t i = 0; i < sizeof synonyms / sizeof *synonyms; i++)
    if (!strcmp(synonyms[i].name, k) && known(synonyms[i].field, admin)) return synonyms[i].field;
  return NULL;
}

json_t *lp_import_suggest_all(json_t *header, int admin) {
  json_t *o = json_object();
  size_t i;
  json_t *h;
  json_array_foreach(header, i, h) {
    const char *name = json_string_value(h);
    if (!name || json_object_get(o, name)) continue;
    const char *f = lp_import_suggest(name, admin);
    json_object_set_new(o, name, f ? json_string(f) : json_null());
  }
  return o;
}

static int in_header(json_t *header, const char *name) {
  size_t i;
  json_t *h;
  json_array_foreach(header, i, h) if (json_string_value(h) && !strcmp(json_string_value(h), name)) return 1;
  return 0;
}

lp_code lp_import_columns(json_t *header, json_t *mapping, int admin, json_t **columns, lp_err *err) {
  *columns = NULL;
  if (mapping && !json_is_object(mapping))
    return lp_fail_field(err, "mapping", "must be an object of the file's column names to lead fields (or null)");
  if (mapping) {
    const char *k;
    json_t *v;
    char key[300];
    json_object_foreach(mapping, k, v) {
      snprintf(key, sizeof key, "mapping.%s", k);
      if (!in_header(header, k)) lp_fail_field(err, key, "is not a column of the file");
      else if (!json_is_null(v) && !json_is_string(v)) lp_fail_field(err, key, "must be a lead field or null");
      else if (json_is_string(v) && !known(json_string_value(v), 1)) lp_fail_field(err, key, "is not a lead field an import can fill");
      else if (json_is_string(v) && !known(json_string_value(v), admin)) lp_fail_field(err, key, "only an admin may import this field");
    }
    if (err->code != LP_OK) return err->code;
  }
  json_t *suggested = mapping ? NULL : lp_import_suggest_all(header, admin);
  json_t *use = mapping ? mapping : suggested;
  json_t *cols = json_array();
  int name = 0;
  size_t i;
  json_t *h;
  json_array_foreach(header, i, h) {
    json_t *f = json_string_value(h) ? json_object_get(use, json_string_value(h)) : NULL;
    if (json_is_string(f) && !strcmp(json_string_value(f), "full_name")) name = 1;
    json_array_append_new(cols, json_is_string(f) ? json_copy(f) : json_null());
  }
  json_decref(suggested);
  if (mapping && !name) {
    json_decref(cols);
    return lp_fail_field(err, "mapping", "no column gives full_name: map the column with the lead's name to full_name");
  }
  *columns = cols;
  return LP_OK;
}

json_t *lp_import_row(json_t *columns, char **cells, int n) {
  size_t nc = json_array_size(columns);
  char **fields = calloc(nc ? nc : 1, sizeof *fields), **vals = calloc(nc ? nc : 1, sizeof *vals);
  int m = 0;
  for (size_t i = 0; i < nc && (int)i < n; i++) {
    const char *f = json_string_value(json_array_get(columns, i));
    if (!f || !cells[i]) continue;
    const char *v = cells[i];
    while (*v == ' ' || *v == '\t') v++;
    if (!*v) continue;
    int k = 0;
    while (k < m && strcmp(fields[k], f)) k++;
    if (k == m) { fields[m] = (char *)f; vals[m++] = strdup(v); continue; }
    /* a second column for the same field: lists and text are joined, others keep the first */
    const lp_field *fd = lp_rec_field(&lp_rt_lead, f);
    const char *sep = fd && (fd->type == FT_EMAILS || fd->type == FT_PHONES) ? ";" : fd && fd->type == FT_TEXT ? " " : NULL;
    if (!sep) continue;
    lp_buf b = LP_BUF_INIT((size_t)1 << 24);
    lp_buf_puts(&b, vals[k]);
    lp_buf_puts(&b, sep);
    lp_buf_puts(&b, v);
    free(vals[k]);
    vals[k] = strdup(lp_buf_str(&b));
    lp_buf_release(&b);
  }
  json_t *o = lp_lead_csv_input(fields, vals, m);
  for (int k = 0; k < m; k++) free(vals[k]);
  free(fields);
  free(vals);
  return o;
}
