/* test_formhtml.c — unit tests for lib/msg/formhtml: HTML escaping, the form field catalogue
 * (every entry fills a writable lead field), the embeddable snippet (labels, required fields,
 * the honeypot, the portal password, everything escaped, no script) and the answer pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/record.h"
#include "msg/formhtml.h"

static void escapes(void **state) {
  (void)state;
  lp_buf b = LP_BUF_INIT(4096);
  lp_html_escape(&b, "a<b>&\"c\"'d' \xc3\xbc");
  assert_string_equal(lp_buf_str(&b), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39; \xc3\xbc");
  lp_buf_release(&b);
}

static void catalogue_fills_lead_fields(void **state) {
  (void)state;
  assert_true(lp_form_fields_n >= 9);
  for (size_t i = 0; i < lp_form_fields_n; i++) {
    const lp_field *f = lp_rec_field(&lp_rt_lead, lp_form_fields[i].lead_field);
    assert_non_null(f);
    assert_true(f->flags & FF_WRITE);
    assert_ptr_equal(lp_form_field_find(lp_form_fields[i].name), &lp_form_fields[i]);
  }
  assert_null(lp_form_field_find("owner_id"));
  assert_null(lp_form_field_find("notes"));
  assert_null(lp_form_field_find(NULL));
}

static void snippet(void **state) {
  (void)state;
  json_t *form = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:b}, {s:s}]}", "key", "contact-us",
                           "name", "Contact <us> -- now", "kind", "lead", "fields",
                           "name", "full_name", "label", "Your \"name\"", "required", 1,
                           "name", "request", "label", "<script>alert(1)</script>", "required", 1,
                           "name", "email", "required", 0, "name", "owner_id");
  lp_buf b = LP_BUF_INIT(1 << 20);
  lp_form_snippet(form, "https://crm.example.com/public/v1/forms/contact-us?a=1&b=\"2\"", &b);
  const char *h = lp_buf_str(&b);
  assert_non_null(strstr(h, "<form class=\"leadpath-form\" action=\"https://crm.example.com/public/v1/forms/contact-us?a=1&amp;b=&quot;2&quot;\" method=\"post\""));
  assert_non_null(strstr(h, "<!-- leadpath form: Contact &lt;us&gt;  now -->"));
  assert_non_null(strstr(h, ">Your &quot;name&quot; *</label>"));
  assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt; *"));
  assert_null(strstr(h, "<script"));
  assert_non_null(strstr(h, "<textarea id=\"lp-contact-us-request\" name=\"request\" rows=\"5\" maxlength=\"4000\" required>"));
  assert_non_null(strstr(h, ">Email</label>"));   /* the catalogue's label when none is given */
  assert_non_null(strstr(h, "name=\"email\" type=\"email\" maxlength=\"254\" autocomplete=\"email\">"));
  assert_null(strstr(h, "owner_id"));             /* not in the catalogue: left out */
  assert_non_null(strstr(h, "name=\"website\" type=\"text\" tabindex=\"-1\""));
  assert_null(strstr(h, "password"));
  assert_non_null(strstr(h, ">Send</button>"));
  lp_buf_release(&b);
  json_object_set_new(form, "kind", json_string("portal_signup"));
  lp_buf b2 = LP_BUF_INIT(1 << 20);
  lp_form_snippet(form, "https://x.test/f", &b2);
  assert_non_null(strstr(lp_buf_str(&b2), "name=\"password\" type=\"password\" maxlength=\"1024\" minlength=\"8\" autocomplete=\"new-password\" required>"));
  assert_non_null(strstr(lp_buf_str(&b2), ">Sign up</button>"));
  lp_buf_release(&b2);
  json_decref(form);
}

static void pages(void **state) {
  (void)state;
  lp_buf b = LP_BUF_INIT(1 << 20);
  lp_form_page("Thanks <you>", "Line one & <b>two</b>\nnext line\n\nNew paragraph", NULL, &b);
  const char *h = lp_buf_str(&b);
  assert_non_null(strstr(h, "<title>Thanks &lt;you&gt;</title>"));
  assert_non_null(strstr(h, "<p>Line one &amp; &lt;b&gt;two&lt;/b&gt;<br>\nnext line</p>\n<p>New paragraph</p>"));
  assert_null(strstr(h, "<ul>"));
  lp_buf_release(&b);
  json_t *fields = json_pack("{s:s, s:s, s:i}", "email", "not an <email>", "password", "too short", "x<y", 3);
  lp_buf e = LP_BUF_INIT(1 << 20);
  lp_form_page("Please correct the form", "Some fields are missing or not valid:", fields, &e);
  assert_non_null(strstr(lp_buf_str(&e), "<li>Email: not an &lt;email&gt;</li>"));
  assert_non_null(strstr(lp_buf_str(&e), "<li>Password: too short</li>"));
  assert_non_null(strstr(lp_buf_str(&e), "<li>x&lt;y: not valid</li>"));
  lp_buf_release(&e);
  json_decref(fields);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(escapes),
    cmocka_unit_test(catalogue_fills_lead_fields),
    cmocka_unit_test(snippet),
    cmocka_unit_test(pages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
