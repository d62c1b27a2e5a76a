/* test_template.c — unit tests for lib/msg/template: which placeholders a template may use
 * (checked when it is saved), how they are filled from a lead, a user and the company, HTML
 * escaping for HTML bodies, and the errors that name the bad placeholder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "msg/template.h"

/* ---- helpers --------------------------------------------------------------------------- */

static json_t *vars(void)
{
    json_error_t je;
    json_t *v = json_loads(
        "{\"lead\": {\"id\": 42, \"full_name\": \"  Ana María O'Neil\", \"company\": \"Tom & Jerry <Ltd>\","
        "           \"emails\": [\"ana@example.com\", \"ana2@example.com\"], \"phones\": [\"+4915112345678\"],"
        "           \"request\": \"Fibre for the \\\"new\\\" office\", \"city\": null, \"value_cents\": 125000,"
        "           \"region\": {\"odd\": 1}},"
        " \"user\": {\"id\": 7, \"name\": \"Bo Berg\", \"email\": \"bo@isp.example\"},"
        " \"company\": {\"name\": \"Fast Fibre\", \"website\": \"https://fibre.example\"}}",
        0, &je);
    if (!v)
        fail_msg("fixture: %s", je.text);
    return v;
}

/* Renders text with the fixture's vars and compares with want. */
static void render_is(const char *text, int html, const char *want)
{
    json_t *v = vars();
    lp_buf out = LP_BUF_INIT(1 << 16);
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_tpl_render(text, v, html, &out, &err);
    if (rc != LP_OK)
        fail_msg("render of \"%s\" failed: %s", text, err.message);
    if (strcmp(lp_buf_str(&out), want) != 0)
        fail_msg("render of \"%s\":\n got  \"%s\"\n want \"%s\"", text, lp_buf_str(&out), want);
    lp_buf_release(&out);
    lp_err_release(&err);
    json_decref(v);
}

/* Checks that text is refused, naming `needle` in err.fields[field] and in the message. */
static void check_refuses(const char *text, const char *field, const char *needle)
{
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_tpl_check(text, field, &err), LP_EVALIDATION);
    assert_int_equal(err.code, LP_EVALIDATION);
    json_t *why = json_object_get(err.fields, field ? field : "template");
    assert_non_null(why);
    if (!strstr(json_string_value(why), needle))
        fail_msg("\"%s\": reason \"%s\" does not name \"%s\"", text, json_string_value(why), needle);
    if (!strstr(err.message, needle))
        fail_msg("\"%s\": message \"%s\" does not name \"%s\"", text, err.message, needle);
    lp_err_release(&err);
}

/* ---- check ----------------------------------------------------------------------------- */

static void test_check_accepts_known(void **state)
{
    (void)state;
    static const char *const good[] = {
        "",
        "No placeholders at all, just { and } and {single}.",
        "Hello {{lead.full_name}}",
        "Hello {{ lead.full_name }}, {{\tlead.first_name\t}}",
        "{{lead.request}} {{lead.email}} {{lead.phone}} {{lead.company}} {{lead.id}}",
        "{{user.name}} <{{user.email}}> {{user.first_name}}",
        "{{company.name}} {{company.website}} {{company.phone}} {{company.address}} {{company.email}}",
        "{{lead.full_name}}{{lead.full_name}}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        lp_err err = LP_ERR_INIT;
        if (lp_tpl_check(good[i], "body", &err) != LP_OK)
            fail_msg("refused \"%s\": %s", good[i], err.message);
        assert_null(err.fields);
        lp_err_release(&err);
    }
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_tpl_check(NULL, "body", &err), LP_OK);
    assert_true(lp_tpl_known("lead", "full_name"));
    assert_false(lp_tpl_known("lead", "full"));
    assert_false(lp_tpl_known("lead", "name full"));
    assert_false(lp_tpl_known("team", "name"));
}

static void test_check_names_unknown(void **state)
{
    (void)state;
    check_refuses("Hi {{lead.nmae}}", "body", "unknown placeholder {{lead.nmae}}");
    check_refuses("Hi {{ customer.name }}", "subject", "unknown placeholder {{ customer.name }}");
    check_refuses("{{user.password}}", NULL, "{{user.password}}");
    check_refuses("{{lead.Full_Name}}", "body", "malformed placeholder {{lead.Full_Name}}");
    check_refuses("{{full_name}}", "body", "malformed placeholder {{full_name}}");
    check_refuses("{{lead.}}", "body", "malformed placeholder {{lead.}}");
    check_refuses("{{}}", "body", "malformed placeholder {{}}");
    check_refuses("{{lead.full name}}", "body", "malformed placeholder {{lead.full name}}");
    check_refuses("Dear {{lead.full_name", "body", "unclosed placeholder");
    check_refuses("Dear {{lead.full_name}} {{", "body", "unclosed placeholder");

    /* every bad placeholder is named, good ones are not */
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_tpl_check("{{lead.a}} {{lead.full_name}} {{user.b}}", "body", &err), LP_EVALIDATION);
    const char *why = json_string_value(json_object_get(err.fields, "body"));
    assert_non_null(strstr(why, "{{lead.a}}"));
    assert_non_null(strstr(why, "{{user.b}}"));
    assert_null(strstr(why, "full_name"));
    lp_err_release(&err);

    /* a very long bad placeholder is cut in the message */
    char longbad[400];
    memset(longbad, 'x', sizeof longbad);
    memcpy(longbad, "{{", 2);
    memcpy(longbad + sizeof longbad - 3, "}}", 3);
    assert_int_equal(lp_tpl_check(longbad, "body", &err), LP_EVALIDATION);
    assert_true(strlen(json_string_value(json_object_get(err.fields, "body"))) < 120);
    lp_err_release(&err);
}

/* ---- render ---------------------------------------------------------------------------- */

static void test_render_values(void **state)
{
    (void)state;
    render_is("Hello {{lead.full_name}}!", 0, "Hello   Ana María O'Neil!");
    render_is("Hello {{ lead.first_name }}!", 0, "Hello Ana!");
    render_is("{{lead.email}} / {{lead.phone}}", 0, "ana@example.com / +4915112345678");
    render_is("#{{lead.id}} worth {{lead.value_cents}}", 0, "#42 worth 125000");
    render_is("{{user.first_name}} ({{user.email}}) at {{company.name}}", 0,
              "Bo (bo@isp.example) at Fast Fibre");
    render_is("{{lead.request}}", 0, "Fibre for the \"new\" office");
    render_is("plain { text } {x}", 0, "plain { text } {x}");
}

static void test_render_missing_is_empty(void **state)
{
    (void)state;
    /* known fields with no value: absent, null, or not a scalar */
    render_is("[{{lead.city}}][{{lead.service}}][{{lead.region}}][{{company.phone}}]", 0, "[][][][]");
    lp_buf out = LP_BUF_INIT(1024);
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_tpl_render("Hi {{lead.first_name}}, {{user.name}}.", NULL, 0, &out, &err), LP_OK);
    assert_string_equal(lp_buf_str(&out), "Hi , .");
    lp_buf_reset(&out);
    json_t *v = json_pack("{s:{s:b}, s:{s:s}}", "lead", "email", 1, "user", "email", "x@y.example");
    assert_int_equal(lp_tpl_render("{{lead.email}}|{{user.email}}", v, 0, &out, &err), LP_OK);
    assert_string_equal(lp_buf_str(&out), "yes|x@y.example");
    json_decref(v);
    lp_buf_release(&out);
}

static void test_render_html_escape(void **state)
{
    (void)state;
    render_is("<p>{{lead.company}}</p>", 1, "<p>Tom &amp; Jerry &lt;Ltd&gt;</p>");
    render_is("<b>{{lead.full_name}}</b>", 1, "<b>  Ana María O&#39;Neil</b>");
    render_is("{{lead.request}}", 1, "Fibre for the &quot;new&quot; office");
    /* the same text, not escaped, for a plain-text body or a subject */
    render_is("{{lead.company}}", 0, "Tom & Jerry <Ltd>");
}

static void test_render_refuses_bad_template(void **state)
{
    (void)state;
    json_t *v = vars();
    lp_buf out = LP_BUF_INIT(1024);
    lp_buf_puts(&out, "kept:");
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_tpl_render("Hi {{lead.full_name}} {{lead.nope}}", v, 0, &out, &err), LP_EVALIDATION);
    assert_non_null(strstr(err.message, "{{lead.nope}}"));
    assert_string_equal(lp_buf_str(&out), "kept:");   /* nothing appended */
    lp_err_release(&err);

    /* the cap of the output buffer is reported */
    lp_buf small = LP_BUF_INIT(16);
    assert_int_equal(lp_tpl_render("Hello {{lead.request}} and more", v, 0, &small, &err), LP_ETOOLARGE);
    assert_int_equal(err.code, LP_ETOOLARGE);
    lp_err_release(&err);
    lp_buf_release(&small);
    lp_buf_release(&out);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_known),    cmocka_unit_test(test_check_names_unknown),
        cmocka_unit_test(test_render_values),          cmocka_unit_test(test_render_missing_is_empty),
        cmocka_unit_test(test_render_html_escape),     cmocka_unit_test(test_render_refuses_bad_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
