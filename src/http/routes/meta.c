/* meta.c — GET /api/v1/meta: what the server's own record tables (lib/core/record.c) say about
 * records, for clients that build forms from them rather than keep copies: the lead fields
 * (name, type, whether a client may set them, required, length, referenced list, values), the
 * usual task types and the outcome kinds. Read-only, the same for everyone signed in. */
#include <string.h>
#include "core/record.h"
#include "http/routes/handlers.h"
#include "msg/formhtml.h"

static const char *type_name(lp_ftype t) {
  switch (t) {
    case FT_TEXT: return "text";
    case FT_INT: return "integer";
    case FT_BOOL: return "boolean";
    case FT_TIME: return "time";
    case FT_EMAILS: return "emails";
    case FT_PHONES: return "phones";
    case FT_REF: return "ref";
    case FT_ENUM: return "enum";
    case FT_CURRENCY: return "currency";
    case FT_COUNTRY: return "country";
    case FT_JSON: return "json";
  }
  return "text";
}

/* "a|b|c" -> ["a", "b", "c"] (new reference). */
static json_t *split_values(const char *list) {
  json_t *a = json_array();
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, '|');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n) json_array_append_new(a, json_stringn(p, n));
    if (!e) break;
    p = e + 1;
  }
  return a;
}

/* A referenced table -> the API list that serves it ("lost_reasons" -> "lost-reasons"). */
static const char *list_of(const char *table) {
  const struct { const char *table, *list; } lists[] = {
    {lp_rt_user.table, "users"}, {lp_rt_stage.table, "stages"}, {lp_rt_source.table, "sources"},
    {lp_rt_location.table, "locations"}, {lp_rt_partner.table, "partners"},
    {lp_rt_lost_reason.table, "lost-reasons"}, {lp_rt_group.table, "groups"}, {"leads", "leads"}};
  for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
    if (!strcmp(lists[i].table, table)) return lists[i].list;
  return table;
}

/* Every presented field of t (hidden ones and the version left out), in the table's order. */
static json_t *fields_of(const lp_rectype *t) {
  json_t *out = json_array();
  for (const lp_field *f = t->fields; f->name; f++) {
    if ((f->flags & FF_HIDDEN) || !strcmp(f->name, "version")) continue;
    json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", f->name, "type", type_name(f->type),
                          "editable", (f->flags & FF_WRITE) != 0, "required", (f->flags & FF_REQUIRED) != 0,
                          "nullable", (f->flags & FF_NOTNULL) == 0);
    if (f->type == FT_TEXT && f->max) json_object_set_new(o, "max_length", json_integer(f->max));
    if ((f->type == FT_EMAILS || f->type == FT_PHONES) && f->max) json_object_set_new(o, "max_items", json_integer(f->max));
    if (f->type == FT_REF && f->extra) json_object_set_new(o, "ref", json_string(list_of(f->extra)));
    if (f->type == FT_ENUM && f->extra) json_object_set_new(o, "values", split_values(f->extra));
    json_array_append_new(out, o);
  }
  return out;
}

lp_code h_meta(lp_req *r) {
  const lp_field *type = lp_rec_field(&lp_rt_task, "type");
  const lp_field *kind = lp_rec_field(&lp_rt_outcome, "kind");
  return lp_reply(r, 200, json_pack("{s:o, s:o, s:o, s:o}", "lead_fields", fields_of(&lp_rt_lead),
                                    "task_types", split_values(type ? type->extra : NULL),
                                    "outcome_kinds", split_values(kind ? kind->extra : NULL),
                                    "form_fields", lp_form_catalogue()));
}
