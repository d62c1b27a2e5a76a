/* test_smsprovider.c — unit tests for lib/msg/smsprovider: form bodies decoded ('+', %-escapes,
 * UTF-8, empty and valueless fields, malformed escapes and NULs refused) and the provider's
 * signature (against values computed independently with Node's crypto.createHmac), which must
 * change with the token, the URL, a value, or a parameter added. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "msg/smsprovider.h"

static const char *FORM = "To=%2B15005550006&From=%2B14155550100&Body=Hi+%26+bye+%2B1+%C3%BCn%C3%AF&MessageSid=SM1";
static const char *URL = "https://crm.example.com/api/v1/inbound/sms/provider";

static void decodes_forms(void **state) {
  (void)state;
  json_t *f = lp_form_decode(FORM, strlen(FORM));
  assert_non_null(f);
  assert_int_equal(json_object_size(f), 4);
  assert_string_equal(json_string_value(json_object_get(f, "To")), "+15005550006");
  assert_string_equal(json_string_value(json_object_get(f, "Body")), "Hi & bye +1 \xc3\xbcn\xc3\xaf");
  json_decref(f);
  const char *odd = "a=&b&&c=1%3d2&a=last";
  f = lp_form_decode(odd, strlen(odd));
  assert_non_null(f);
  assert_string_equal(json_string_value(json_object_get(f, "a")), "last");
  assert_string_equal(json_string_value(json_object_get(f, "b")), "");
  assert_string_equal(json_string_value(json_object_get(f, "c")), "1=2");
  json_decref(f);
  f = lp_form_decode("", 0);
  assert_non_null(f);
  assert_int_equal(json_object_size(f), 0);
  json_decref(f);
  const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "a=%ff%fe"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    f = lp_form_decode(bad[i], strlen(bad[i]));
    if (f) fail_msg("accepted \"%s\"", bad[i]);
  }
}

static void signs_like_the_provider(void **state) {
  (void)state;
  json_t *f = lp_form_decode(FORM, strlen(FORM));
  char sig[64];
  assert_int_equal(lp_sms_signature("s3cret", URL, f, sig, sizeof sig), 0);
  assert_string_equal(sig, "YhTamh1IkcPkrGrIE7FUfTK8oMk=");
  assert_true(lp_sms_signature_ok("s3cret", URL, f, "YhTamh1IkcPkrGrIE7FUfTK8oMk="));
  assert_false(lp_sms_signature_ok("s3cret2", URL, f, sig));
  assert_false(lp_sms_signature_ok("s3cret", "https://crm.example.com/api/v1/inbound/sms", f, sig));
  assert_false(lp_sms_signature_ok("s3cret", URL, f, NULL));
  assert_false(lp_sms_signature_ok("s3cret", URL, f, ""));
  assert_false(lp_sms_signature_ok("", URL, f, sig));
  json_object_set_new(f, "Extra", json_string(""));
  assert_false(lp_sms_signature_ok("s3cret", URL, f, sig));
  json_object_del(f, "Extra");
  json_object_set_new(f, "Body", json_string("Hi"));
  assert_false(lp_sms_signature_ok("s3cret", URL, f, sig));
  json_decref(f);
  json_t *empty = json_object();
  assert_int_equal(lp_sms_signature("s3cret", "https://crm.example.com/api/v1/inbound/sms/status", empty, sig, sizeof sig), 0);
  assert_string_equal(sig, "FToxWmaZY2p209DFEAYZSJdFU7c=");
  assert_int_equal(lp_sms_signature("s3cret", URL, empty, sig, 10), -1);
  json_decref(empty);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(decodes_forms),
    cmocka_unit_test(signs_like_the_provider),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
