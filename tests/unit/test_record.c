/* test_record.c — unit tests for lib/core/record with the lead type: lp_rec_input (required
 * fields, unknown and read-only fields, types named in err.fields, e-mail and phone
 * normalisation, currency and country, admin-only create fields) and lp_rec_present (times to
 * RFC 3339, booleans, address lists, hidden fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/record.h"
#include "util/timefmt.h"

/* ---- helpers --------------------------------------------------------------------------- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON (%s): %s", e.text, text);
    return v;
}

/* Runs lp_rec_input on the lead type; on success returns the columns (caller decrefs). */
static json_t *lead_ok(const char *in, int create, int admin, const char *country)
{
    json_t *o = J(in);
    json_t *out = NULL;
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_rec_input(&lp_rt_lead, o, create, admin, country, &out, &err);
    json_decref(o);
    if (rc != LP_OK) {
        char *f = err.fields ? json_dumps(err.fields, JSON_COMPACT) : NULL;
        char msg[512];
        snprintf(msg, sizeof msg, "%s: %s %s", in, lp_code_name(rc), f ? f : "");
        free(f);
        lp_err_release(&err);
        fail_msg("input refused: %s", msg);
    }
    assert_int_equal(err.code, LP_OK);
    assert_null(err.fields);
    assert_non_null(out);
    return out;
}

/* Runs lp_rec_input expecting 422; returns err.fields (caller decrefs). */
static json_t *lead_bad(const char *in, int create, int admin, const char *country)
{
    json_t *o = J(in);
    json_t *out = (json_t *)1;
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_rec_input(&lp_rt_lead, o, create, admin, country, &out, &err);
    json_decref(o);
    if (rc != LP_EVALIDATION) {
        json_decref(rc == LP_OK ? out : NULL);
        lp_err_release(&err);
        fail_msg("input accepted or wrong code (%s): %s", lp_code_name(rc), in);
    }
    assert_null(out);
    assert_int_equal(err.code, LP_EVALIDATION);
    assert_int_equal(lp_code_status(err.code), 422);
    json_t *fields = err.fields ? json_incref(err.fields) : json_object();
    lp_err_release(&err);
    return fields;
}

static void assert_reason(json_t *fields, const char *field, const char *reason)
{
    json_t *v = json_object_get(fields, field);
    if (!json_is_string(v)) {
        char *s = json_dumps(fields, JSON_COMPACT);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", s ? s : "?");
        free(s);
        fail_msg("no error for %s in %s", field, msg);
    }
    if (reason)
        assert_string_equal(json_string_value(v), reason);
}

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* The row value of a list column is JSON text; compares it with `want` (JSON text). */
static void assert_list(json_t *cols, const char *k, const char *want)
{
    const char *got = sget(cols, k);
    if (!got)
        fail_msg("%s is not stored as text", k);
    json_t *a = J(got), *b = J(want);
    if (!json_equal(a, b)) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: want %s, got %s", k, want, got);
        json_decref(a);
        json_decref(b);
        fail_msg("%s", msg);
    }
    json_decref(a);
    json_decref(b);
}

static int64_t T(const char *s)
{
    int64_t t = 0;
    if (lp_time_parse(s, &t) != 0)
        fail_msg("bad test time %s", s);
    return t;
}

/* ---- required and unknown fields ------------------------------------------------------- */

static void test_full_name_required(void **state)
{
    (void)state;
    json_t *f = lead_bad("{}", 1, 0, NULL);
    assert_reason(f, "full_name", "required");
    json_decref(f);
    f = lead_bad("{\"full_name\": \"   \"}", 1, 0, NULL);
    assert_reason(f, "full_name", "required");
    json_decref(f);
    f = lead_bad("{\"full_name\": \"\"}", 1, 1, NULL);
    assert_reason(f, "full_name", "required");
    json_decref(f);
    f = lead_bad("{\"full_name\": null}", 1, 0, NULL);
    assert_reason(f, "full_name", NULL);
    json_decref(f);
    /* a patch need not repeat it, but may not blank it */
    json_t *c = lead_ok("{\"company\": \"Acme\"}", 0, 0, NULL);
    assert_null(json_object_get(c, "full_name"));
    assert_string_equal(sget(c, "company"), "Acme");
    json_decref(c);
    f = lead_bad("{\"full_name\": null}", 0, 0, NULL);
    assert_reason(f, "full_name", NULL);
    json_decref(f);
    f = lead_bad("{\"full_name\": \" \"}", 0, 0, NULL);
    assert_reason(f, "full_name", NULL);
    json_decref(f);
    /* trimmed; within 200 bytes */
    c = lead_ok("{\"full_name\": \"  Ada Lovelace \\n\"}", 1, 0, NULL);
    assert_string_equal(sget(c, "full_name"), "Ada Lovelace");
    json_decref(c);
    char big[300];
    snprintf(big, sizeof big, "{\"full_name\": \"%0200d\"}", 0);
    c = lead_ok(big, 1, 0, NULL);
    assert_int_equal(strlen(sget(c, "full_name")), 200);
    json_decref(c);
    snprintf(big, sizeof big, "{\"full_name\": \"%0201d\"}", 0);
    f = lead_bad(big, 1, 0, NULL);
    assert_reason(f, "full_name", "too long");
    json_decref(f);
}

static void test_not_an_object(void **state)
{
    (void)state;
    json_t *f = lead_bad("[]", 1, 0, NULL);
    json_decref(f);
    f = lead_bad("\"Ada\"", 1, 0, NULL);
    json_decref(f);
}

static void test_unknown_and_read_only_ignored(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"full_name\": \"Ada\", \"favourite_colour\": \"blue\", \"id\": 99, \"version\": 7,"
                        " \"updated_at\": \"2026-01-01T00:00:00Z\", \"closed_by\": 3, \"created_by\": 3,"
                        " \"deleted_at\": \"2026-01-01T00:00:00Z\", \"waiting_since\": \"2026-01-01T00:00:00Z\","
                        " \"waiting_seconds\": 5, \"stage_entered_at\": \"2026-01-01T00:00:00Z\","
                        " \"review_requested_at\": \"2026-01-01T00:00:00Z\", \"age_days\": 3, \"sla\": \"ok\"}",
                        1, 1, NULL);
    assert_int_equal(json_object_size(c), 1);
    assert_string_equal(sget(c, "full_name"), "Ada");
    json_decref(c);
}

static void test_wrong_types_named(void **state)
{
    (void)state;
    json_t *f = lead_bad("{\"full_name\": 5, \"company\": [\"x\"], \"score\": \"high\", \"email_opt_out\": \"yes\","
                         " \"sms_opt_out\": 1, \"emails\": \"ada@example.com\", \"phones\": [44],"
                         " \"last_contacted_at\": \"yesterday\", \"owner_id\": \"7\", \"stage_id\": 0,"
                         " \"value_cents\": 1.5, \"request\": {}}",
                         1, 0, NULL);
    assert_reason(f, "full_name", "must be a string");
    assert_reason(f, "company", "must be a string");
    assert_reason(f, "score", "must be an integer");
    assert_reason(f, "email_opt_out", "must be true or false");
    assert_reason(f, "sms_opt_out", "must be true or false");
    assert_reason(f, "emails", "must be an array of strings");
    assert_reason(f, "phones", "must be an array of strings");
    assert_reason(f, "last_contacted_at", "must be an RFC 3339 time");
    assert_reason(f, "owner_id", "must be an integer");
    assert_reason(f, "stage_id", "not found");
    assert_reason(f, "value_cents", "must be an integer");
    assert_reason(f, "request", "must be a string");
    assert_int_equal(json_object_size(f), 12);
    json_decref(f);

    /* a good field next to a bad one does not hide the bad one; nulls where refused */
    f = lead_bad("{\"full_name\": \"Ada\", \"score\": 1e20, \"emails\": null, \"email_opt_out\": null,"
                 " \"stage_id\": null}", 1, 0, NULL);
    assert_reason(f, "score", NULL);
    assert_reason(f, "emails", "must not be null");
    assert_reason(f, "email_opt_out", "must not be null");
    assert_reason(f, "stage_id", "must not be null");
    assert_null(json_object_get(f, "full_name"));
    json_decref(f);

    f = lead_bad("{\"full_name\": \"Ada\", \"score\": 10000000000000000}", 1, 0, NULL);
    assert_reason(f, "score", "out of range");
    json_decref(f);
    f = lead_bad("{\"full_name\": \"Ada\", \"partner_id\": -2}", 1, 0, NULL);
    assert_reason(f, "partner_id", "not found");
    json_decref(f);
}

static void test_nullable_fields(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"company\": null, \"owner_id\": null, \"last_contacted_at\": null, \"currency\": null,"
                        " \"country\": null}", 0, 0, NULL);
    assert_true(json_is_null(json_object_get(c, "company")));
    assert_true(json_is_null(json_object_get(c, "owner_id")));
    assert_true(json_is_null(json_object_get(c, "last_contacted_at")));
    assert_true(json_is_null(json_object_get(c, "currency")));
    assert_true(json_is_null(json_object_get(c, "country")));
    json_decref(c);
    /* blank optional text becomes null */
    c = lead_ok("{\"full_name\": \"Ada\", \"company\": \"  \", \"city\": \" Leeds \"}", 1, 0, NULL);
    assert_true(json_is_null(json_object_get(c, "company")));
    assert_string_equal(sget(c, "city"), "Leeds");
    json_decref(c);
}

/* ---- e-mails and phones ---------------------------------------------------------------- */

static void test_emails_normalised(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"full_name\": \"Ada\", \"emails\": [\" Ada@Example.COM \", \"ada@example.com\","
                        " \"b.b@example.org\", \"ADA@example.com\"]}", 1, 0, NULL);
    assert_list(c, "emails", "[\"ada@example.com\", \"b.b@example.org\"]");
    json_decref(c);
    c = lead_ok("{\"full_name\": \"Ada\", \"emails\": []}", 1, 0, NULL);
    assert_list(c, "emails", "[]");
    json_decref(c);

    json_t *f = lead_bad("{\"full_name\": \"Ada\", \"emails\": [\"ada@example.com\", \"not an email\"]}", 1, 0, NULL);
    assert_reason(f, "emails", "invalid email address");
    json_decref(f);
    f = lead_bad("{\"full_name\": \"Ada\", \"emails\": [\"ada@localhost\"]}", 1, 0, NULL);
    assert_reason(f, "emails", "invalid email address");
    json_decref(f);
    /* at most 20 */
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"full_name\": \"Ada\", \"emails\": [");
    for (int i = 0; i < 21; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"a%d@example.com\"", i ? ", " : "", i);
    snprintf(buf + n, sizeof buf - n, "]}");
    f = lead_bad(buf, 1, 0, NULL);
    assert_reason(f, "emails", "too many entries");
    json_decref(f);
}

static void test_phones_e164(void **state)
{
    (void)state;
    /* international form needs no country */
    json_t *c = lead_ok("{\"full_name\": \"Ada\", \"phones\": [\"+44 20 7946 0018\", \"+1 (415) 555-0100\"]}", 1, 0, NULL);
    assert_list(c, "phones", "[\"+442079460018\", \"+14155550100\"]");
    json_decref(c);

    /* national form with the country from the same object (any case) */
    c = lead_ok("{\"full_name\": \"Ada\", \"country\": \"gb\", \"phones\": [\"020 7946 0018\", \"+44 (0)20 7946 0018\"]}",
                1, 0, NULL);
    assert_list(c, "phones", "[\"+442079460018\"]");
    assert_string_equal(sget(c, "country"), "GB");
    json_decref(c);

    /* ... or from the parameter (the lead's stored country on a patch) */
    c = lead_ok("{\"phones\": [\"020 7946 0018\"]}", 0, 0, "GB");
    assert_list(c, "phones", "[\"+442079460018\"]");
    json_decref(c);

    /* the object's country wins over the parameter */
    c = lead_ok("{\"country\": \"US\", \"phones\": [\"(415) 555-0100\"]}", 0, 0, "GB");
    assert_list(c, "phones", "[\"+14155550100\"]");
    json_decref(c);

    /* no country anywhere: national numbers are refused */
    json_t *f = lead_bad("{\"full_name\": \"Ada\", \"phones\": [\"020 7946 0018\"]}", 1, 0, NULL);
    assert_reason(f, "phones", NULL);
    json_decref(f);
    /* an invalid country in the object does not decide (and is itself refused) */
    f = lead_bad("{\"full_name\": \"Ada\", \"country\": \"XX\", \"phones\": [\"020 7946 0018\"]}", 1, 0, NULL);
    assert_reason(f, "phones", NULL);
    assert_reason(f, "country", NULL);
    json_decref(f);
    /* garbage */
    f = lead_bad("{\"full_name\": \"Ada\", \"phones\": [\"call me maybe\"]}", 1, 0, "GB");
    assert_reason(f, "phones", NULL);
    json_decref(f);
}

/* ---- currency and country -------------------------------------------------------------- */

static void test_currency_and_country(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"full_name\": \"Ada\", \"currency\": \"EUR\", \"country\": \"de\", \"value_cents\": 125000}",
                        1, 0, NULL);
    assert_string_equal(sget(c, "currency"), "EUR");
    assert_string_equal(sget(c, "country"), "DE");
    assert_int_equal(iget(c, "value_cents"), 125000);
    json_decref(c);

    const char *bad_currency[] = {"\"eur\"", "\"EURO\"", "\"EU\"", "\"E1R\"", "978", "\"\""};
    for (size_t i = 0; i < sizeof bad_currency / sizeof *bad_currency; i++) {
        char buf[100];
        snprintf(buf, sizeof buf, "{\"full_name\": \"Ada\", \"currency\": %s}", bad_currency[i]);
        json_t *f = lead_bad(buf, 1, 0, NULL);
        assert_reason(f, "currency", NULL);
        json_decref(f);
    }
    const char *bad_country[] = {"\"XX\"", "\"GBR\"", "\"UK\"", "\"G\"", "44", "\"\""};
    for (size_t i = 0; i < sizeof bad_country / sizeof *bad_country; i++) {
        char buf[100];
        snprintf(buf, sizeof buf, "{\"full_name\": \"Ada\", \"country\": %s}", bad_country[i]);
        json_t *f = lead_bad(buf, 1, 0, NULL);
        assert_reason(f, "country", NULL);
        json_decref(f);
    }
}

/* ---- admin-only history fields --------------------------------------------------------- */

static const char *history =
    "{\"full_name\": \"Ada\", \"status\": \"closed\", \"outcome\": \"lost\", \"lost_reason_id\": 4,"
    " \"close_notes\": \"old\", \"closed_at\": \"2025-02-01T10:00:00Z\", \"sold_at\": \"2025-01-20T10:00:00Z\","
    " \"created_at\": \"2025-01-01T10:00:00Z\"}";
static const char *history_keys[] = {"status", "outcome", "lost_reason_id", "close_notes", "closed_at", "sold_at",
                                     "created_at"};

static void test_admin_fields_ignored_for_others(void **state)
{
    (void)state;
    json_t *c = lead_ok(history, 1, 0, NULL);
    for (size_t i = 0; i < sizeof history_keys / sizeof *history_keys; i++)
        if (json_object_get(c, history_keys[i]))
            fail_msg("non-admin could set %s", history_keys[i]);
    assert_int_equal(json_object_size(c), 1);
    json_decref(c);
    /* ignored, so even invalid values are no error */
    c = lead_ok("{\"full_name\": \"Ada\", \"status\": \"bogus\", \"closed_at\": \"never\"}", 1, 0, NULL);
    assert_int_equal(json_object_size(c), 1);
    json_decref(c);
}

static void test_admin_fields_on_create_only(void **state)
{
    (void)state;
    json_t *c = lead_ok(history, 1, 1, NULL);
    assert_string_equal(sget(c, "status"), "closed");
    assert_string_equal(sget(c, "outcome"), "lost");
    assert_int_equal(iget(c, "lost_reason_id"), 4);
    assert_string_equal(sget(c, "close_notes"), "old");
    assert_int_equal(iget(c, "closed_at"), T("2025-02-01T10:00:00Z"));
    assert_int_equal(iget(c, "sold_at"), T("2025-01-20T10:00:00Z"));
    assert_int_equal(iget(c, "created_at"), T("2025-01-01T10:00:00Z"));
    json_decref(c);

    /* an admin's patch cannot rewrite history */
    c = lead_ok(history, 0, 1, NULL);
    for (size_t i = 0; i < sizeof history_keys / sizeof *history_keys; i++)
        if (json_object_get(c, history_keys[i]))
            fail_msg("admin patch could set %s", history_keys[i]);
    json_decref(c);

    /* the admin's values are still validated */
    json_t *f = lead_bad("{\"full_name\": \"Ada\", \"status\": \"archived\", \"closed_at\": \"never\","
                         " \"created_at\": null}", 1, 1, NULL);
    assert_reason(f, "status", "invalid");
    assert_reason(f, "closed_at", "must be an RFC 3339 time");
    assert_reason(f, "created_at", "must not be null");
    json_decref(f);
}

/* ---- presentation ---------------------------------------------------------------------- */

static void test_times_round_trip(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"full_name\": \"Ada\", \"last_contacted_at\": \"2026-11-22T19:20:06Z\"}", 1, 0, NULL);
    assert_true(json_is_integer(json_object_get(c, "last_contacted_at")));
    assert_int_equal(iget(c, "last_contacted_at"), T("2026-11-22T19:20:06Z"));
    json_object_set_new(c, "id", json_integer(1));
    json_t *p = lp_rec_present(&lp_rt_lead, c);
    assert_string_equal(sget(p, "last_contacted_at"), "2026-11-22T19:20:06Z");
    json_decref(p);
    json_decref(c);

    /* offsets and fractions are normalised to UTC seconds */
    c = lead_ok("{\"last_contacted_at\": \"2026-11-22T21:20:06.75+02:00\"}", 0, 0, NULL);
    p = lp_rec_present(&lp_rt_lead, c);
    assert_string_equal(sget(p, "last_contacted_at"), "2026-11-22T19:20:06Z");
    json_decref(p);
    json_decref(c);

    /* value_out directly */
    const lp_field *f = lp_rec_field(&lp_rt_lead, "created_at");
    assert_non_null(f);
    assert_int_equal(f->type, FT_TIME);
    json_t *v = json_integer(0);
    json_t *o = lp_rec_value_out(f, v);
    assert_string_equal(json_string_value(o), "1970-01-01T00:00:00Z");
    json_decref(o);
    json_decref(v);
    o = lp_rec_value_out(f, NULL);
    assert_true(json_is_null(o));
    json_decref(o);
}

static void test_booleans(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"full_name\": \"Ada\", \"email_opt_out\": true, \"sms_opt_out\": false}", 1, 0, NULL);
    assert_true(json_is_integer(json_object_get(c, "email_opt_out")));
    assert_int_equal(iget(c, "email_opt_out"), 1);
    assert_int_equal(iget(c, "sms_opt_out"), 0);
    json_t *p = lp_rec_present(&lp_rt_lead, c);
    assert_true(json_is_true(json_object_get(p, "email_opt_out")));
    assert_true(json_is_false(json_object_get(p, "sms_opt_out")));
    json_decref(p);
    json_decref(c);
}

static void test_present_row(void **state)
{
    (void)state;
    json_t *row = J("{\"id\": 12, \"version\": 4, \"full_name\": \"Ada\", \"company\": null,"
                    " \"emails\": \"[\\\"ada@example.com\\\"]\", \"phones\": \"[]\", \"owner_id\": 3,"
                    " \"email_opt_out\": 0, \"sms_opt_out\": 1, \"status\": \"open\", \"score\": 7,"
                    " \"created_at\": 1795375206, \"updated_at\": 1795375206, \"closed_at\": null,"
                    " \"created_by\": 3, \"deleted_at\": null, \"stage_entered_at\": 1795375206,"
                    " \"waiting_since\": null, \"waiting_seconds\": 0, \"secret_column\": \"x\"}");
    json_t *p = lp_rec_present(&lp_rt_lead, row);
    assert_int_equal(iget(p, "id"), 12);
    assert_int_equal(iget(p, "version"), 4);
    assert_string_equal(sget(p, "full_name"), "Ada");
    assert_true(json_is_null(json_object_get(p, "company")));
    json_t *emails = json_object_get(p, "emails");
    assert_true(json_is_array(emails));
    assert_int_equal(json_array_size(emails), 1);
    assert_string_equal(json_string_value(json_array_get(emails, 0)), "ada@example.com");
    assert_true(json_is_array(json_object_get(p, "phones")));
    assert_int_equal(json_array_size(json_object_get(p, "phones")), 0);
    assert_true(json_is_false(json_object_get(p, "email_opt_out")));
    assert_true(json_is_true(json_object_get(p, "sms_opt_out")));
    assert_string_equal(sget(p, "created_at"), "2026-11-22T19:20:06Z");
    assert_true(json_is_null(json_object_get(p, "closed_at")));
    /* hidden and unknown columns never leave */
    const char *hidden[] = {"created_by", "deleted_at", "stage_entered_at", "waiting_since", "waiting_seconds",
                            "secret_column"};
    for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++)
        if (json_object_get(p, hidden[i]))
            fail_msg("present shows %s", hidden[i]);
    /* every other field is there, null when the row lacks it */
    for (const lp_field *f = lp_rt_lead.fields; f->name; f++)
        if (!(f->flags & FF_HIDDEN) && !json_object_get(p, f->name))
            fail_msg("present lacks %s", f->name);
    assert_true(json_is_null(json_object_get(p, "sold_at")));
    json_decref(p);

    /* a row without id or lists */
    json_t *row2 = J("{\"full_name\": \"Bob\", \"emails\": null}");
    p = lp_rec_present(&lp_rt_lead, row2);
    assert_true(json_is_null(json_object_get(p, "id")));
    assert_true(json_is_array(json_object_get(p, "emails")));
    assert_int_equal(json_array_size(json_object_get(p, "emails")), 0);
    assert_true(json_is_array(json_object_get(p, "phones")));
    json_decref(p);
    json_decref(row2);
    json_decref(row);
}

static void test_input_present_round_trip(void **state)
{
    (void)state;
    json_t *c = lead_ok("{\"full_name\": \"Ada Lovelace\", \"company\": \"Analytical Engines\", \"country\": \"GB\","
                        " \"emails\": [\"Ada@Example.com\"], \"phones\": [\"020 7946 0018\"], \"score\": 42,"
                        " \"currency\": \"GBP\", \"value_cents\": 990, \"email_opt_out\": true,"
                        " \"last_contacted_at\": \"2026-11-20T08:00:00Z\", \"owner_id\": 3, \"stage_id\": 2}",
                        1, 0, NULL);
    json_object_set_new(c, "id", json_integer(5));
    json_t *p = lp_rec_present(&lp_rt_lead, c);
    json_t *want = J("{\"id\": 5, \"full_name\": \"Ada Lovelace\", \"company\": \"Analytical Engines\","
                     " \"country\": \"GB\", \"emails\": [\"ada@example.com\"], \"phones\": [\"+442079460018\"],"
                     " \"score\": 42, \"currency\": \"GBP\", \"value_cents\": 990, \"email_opt_out\": true,"
                     " \"last_contacted_at\": \"2026-11-20T08:00:00Z\", \"owner_id\": 3, \"stage_id\": 2}");
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
        if (!json_equal(json_object_get(p, k), v))
            fail_msg("round trip changed %s", k);
    }
    json_decref(want);
    json_decref(p);
    json_decref(c);
}

static void test_field_lookup(void **state)
{
    (void)state;
    const lp_field *f = lp_rec_field(&lp_rt_lead, "full_name");
    assert_non_null(f);
    assert_true(f->flags & FF_REQUIRED);
    assert_null(lp_rec_field(&lp_rt_lead, "nope"));
    assert_string_equal(lp_rt_lead.table, "leads");
    assert_string_equal(lp_rt_lead.name, "lead");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_name_required),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_unknown_and_read_only_ignored),
        cmocka_unit_test(test_wrong_types_named),
        cmocka_unit_test(test_nullable_fields),
        cmocka_unit_test(test_emails_normalised),
        cmocka_unit_test(test_phones_e164),
        cmocka_unit_test(test_currency_and_country),
        cmocka_unit_test(test_admin_fields_ignored_for_others),
        cmocka_unit_test(test_admin_fields_on_create_only),
        cmocka_unit_test(test_times_round_trip),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_present_row),
        cmocka_unit_test(test_input_present_round_trip),
        cmocka_unit_test(test_field_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
