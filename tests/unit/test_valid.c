/* test_valid.c — unit tests for lib/util/valid: e-mail normalisation, phone numbers to E.164
 * (national forms per country, international prefixes, length limits, garbage) and the
 * ISO 3166-1 country table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/valid.h"

/* ---- helpers --------------------------------------------------------------------------- */

static void email_ok(const char *in, const char *want)
{
    char out[LP_EMAIL_BUFSZ];
    if (lp_email_normalize(in, out, sizeof out) != 0)
        fail_msg("email rejected: \"%s\"", in);
    assert_string_equal(out, want);
}

static void email_bad(const char *in)
{
    char out[LP_EMAIL_BUFSZ];
    memset(out, 'x', sizeof out);
    if (lp_email_normalize(in, out, sizeof out) != -1)
        fail_msg("email accepted: \"%s\" -> \"%s\"", in, out);
    assert_string_equal(out, "");
}

static void phone_ok(const char *in, const char *country, const char *want)
{
    char out[LP_PHONE_BUFSZ];
    if (lp_phone_normalize(in, country, out, sizeof out) != 0)
        fail_msg("phone rejected: \"%s\" (%s)", in, country ? country : "NULL");
    assert_string_equal(out, want);
}

static void phone_bad(const char *in, const char *country)
{
    char out[LP_PHONE_BUFSZ];
    memset(out, 'x', sizeof out);
    if (lp_phone_normalize(in, country, out, sizeof out) != -1)
        fail_msg("phone accepted: \"%s\" (%s) -> \"%s\"", in, country ? country : "NULL", out);
    assert_string_equal(out, "");
}

/* Builds a string of n copies of c into buf (size > n). */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* ---- e-mail ---------------------------------------------------------------------------- */

static void test_email_valid(void **state)
{
    (void)state;
    email_ok("alice@example.com", "alice@example.com");
    email_ok("Alice.Smith@Example.COM", "alice.smith@example.com");
    email_ok("  bob@example.org \t\n", "bob@example.org");
    email_ok("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk");
    email_ok("o'brien@example.ie", "o'brien@example.ie");
    email_ok("x!#$%&'*+/=?^_`{|}~-y@example.com", "x!#$%&'*+/=?^_`{|}~-y@example.com");
    email_ok("a@b.co", "a@b.co");
    email_ok("user@my-host.example.com", "user@my-host.example.com");
    email_ok("user@123.example.com", "user@123.example.com");
    email_ok("USER@EXAMPLE.TRAVEL", "user@example.travel");
}

static void test_email_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "alice@",
        "alice@@example.com",
        "alice@bob@example.com",
        "alice@example",          /* no dot in domain */
        "alice@example.c",        /* TLD too short */
        "alice@example.c0m",      /* TLD not letters */
        "alice@example.123",
        "alice@example.com.",     /* trailing dot */
        "alice@.example.com",
        "alice@example..com",
        "alice@-example.com",
        "alice@example-.com",
        "alice@exa_mple.com",
        "alice@exa mple.com",
        ".alice@example.com",
        "alice.@example.com",
        "al..ice@example.com",
        "al ice@example.com",
        "al\"ice\"@example.com",
        "(alice)@example.com",
        "alice@[192.168.0.1]",
        "alice@example.com>",
        "<alice@example.com>",
        "J\xc3\xbcrgen@example.de",   /* non-ASCII local part */
        "alice@b\303\274cher.de",      /* IDN domain (must be punycode) */
        "alice@xn--bcher-kva.xn--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        email_bad(bad[i]);
    email_ok("alice@xn--bcher-kva.de", "alice@xn--bcher-kva.de"); /* punycode is plain ASCII */
}

static void test_email_lengths(void **state)
{
    (void)state;
    char local[80], label[80], addr[600], padded[620];

    /* local part: 64 ok, 65 not */
    snprintf(addr, sizeof addr, "%s@example.com", repeat(local, 'a', 64));
    email_ok(addr, addr);
    snprintf(addr, sizeof addr, "%s@example.com", repeat(local, 'a', 65));
    email_bad(addr);

    /* label: 63 ok, 64 not */
    snprintf(addr, sizeof addr, "a@%s.com", repeat(label, 'b', 63));
    email_ok(addr, addr);
    snprintf(addr, sizeof addr, "a@%s.com", repeat(label, 'b', 64));
    email_bad(addr);

    /* total: 254 ok, 255 not. 63-char labels: "a@" + 3*"x{63}." + "y{N}.com" */
    repeat(label, 'b', 63);
    snprintf(addr, sizeof addr, "a@%s.%s.%s.%s.com", label, label, label, repeat(local, 'c', 56));
    assert_int_equal(strlen(addr), 254);
    email_ok(addr, addr);
    snprintf(addr, sizeof addr, "a@%s.%s.%s.%s.com", label, label, label, repeat(local, 'c', 57));
    assert_int_equal(strlen(addr), 255);
    email_bad(addr);

    /* surrounding whitespace does not count towards the limit */
    snprintf(addr, sizeof addr, "a@%s.%s.%s.%s.com", label, label, label, repeat(local, 'c', 56));
    snprintf(padded, sizeof padded, "   %s   ", addr);
    email_ok(padded, addr);
}

static void test_email_buffer(void **state)
{
    (void)state;
    char out[16];
    /* "bob@example.com" is 15 chars: needs 16 bytes */
    assert_int_equal(lp_email_normalize("BOB@example.com", out, 16), 0);
    assert_string_equal(out, "bob@example.com");
    memset(out, 'x', sizeof out);
    assert_int_equal(lp_email_normalize("bob@example.com", out, 15), -1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(lp_email_normalize("bob@example.com", out, 0), -1);
    assert_int_equal(lp_email_normalize(NULL, out, sizeof out), -1);
    assert_int_equal(out[0], '\0');
    assert_int_equal(lp_email_normalize("bob@example.com", NULL, 16), -1);
}

/* ---- phone ----------------------------------------------------------------------------- */

static void test_phone_national(void **state)
{
    (void)state;
    /* UK: trunk 0 stripped */
    phone_ok("020 7946 0958", "GB", "+442079460958");
    phone_ok("020 7946 0958", "gb", "+442079460958");
    phone_ok("(020) 7946-0958", "GB", "+442079460958");
    phone_ok("07700 900123", "GB", "+447700900123");
    phone_ok("7700 900123", "GB", "+447700900123"); /* trunk omitted */
    /* US / Canada (NANP) */
    phone_ok("(415) 555-2671", "US", "+14155552671");
    phone_ok("415.555.2671", "us", "+14155552671");
    phone_ok("1 415 555 2671", "US", "+14155552671");
    phone_ok("1-800-555-0199", "US", "+18005550199");
    phone_ok("(604) 555-0123", "CA", "+16045550123");
    phone_bad("555-2671", "US");          /* 7 digits: no area code */
    phone_bad("(015) 555-2671", "US");    /* area code cannot start with 0 */
    phone_bad("(115) 555-2671", "US");    /* ... nor with 1 */
    phone_bad("2 415 555 2671", "US");    /* 11 digits not starting with 1 */
    phone_bad("1 415 555 26711", "US");   /* 12 digits */
    /* Italy keeps its leading 0 */
    phone_ok("06 1234 5678", "IT", "+390612345678");
    phone_ok("02-1234-5678", "it", "+390212345678");
    phone_ok("347 123 4567", "IT", "+393471234567");
    /* Germany, France, Netherlands, Belgium: trunk 0 */
    phone_ok("030 123456789", "DE", "+4930123456789");
    phone_ok("01 23 45 67 89", "FR", "+33123456789");
    phone_ok("06 12 34 56 78", "FR", "+33612345678");
    phone_ok("020-123 4567", "NL", "+31201234567");
    phone_ok("02 123 45 67", "BE", "+3221234567");
    /* Spain: no trunk prefix */
    phone_ok("912 345 678", "ES", "+34912345678");
    /* Russia: trunk 8; Hungary: trunk 06 */
    phone_ok("8 (912) 345-67-89", "RU", "+79123456789");
    phone_ok("912 345-67-89", "RU", "+79123456789");
    phone_ok("06 1 234 5678", "HU", "+3612345678");
    /* Australia, India, Japan */
    phone_ok("0412 345 678", "AU", "+61412345678");
    phone_ok("098765 43210", "IN", "+919876543210");
    phone_ok("090-1234-5678", "JP", "+819012345678");
    /* only one trunk prefix is stripped */
    phone_ok("8 812 345-67-89", "RU", "+78123456789"); /* St Petersburg 812: one 8 stripped */
    phone_ok("00 36 1 234 5678", "HU", "+3612345678");  /* "00" is international, not trunk */
}

static void test_phone_international(void **state)
{
    (void)state;
    phone_ok("030/1234567", "DE", "+49301234567");      /* the German way of writing it */
    phone_ok("+44 20 7946 0958", NULL, "+442079460958");
    phone_ok("+44 20 7946 0958", "", "+442079460958");
    phone_ok("+44 20 7946 0958", "US", "+442079460958"); /* country ignored */
    phone_ok("0044 20 7946 0958", NULL, "+442079460958");
    phone_ok("00 44 20 7946 0958", "FR", "+442079460958");
    phone_ok("  +1 (415) 555-2671  ", NULL, "+14155552671");
    phone_ok("+39 06 1234 5678", NULL, "+390612345678");
    phone_ok("0039 06 1234 5678", "GB", "+390612345678");
    phone_ok("+49.30.123456789", NULL, "+4930123456789");
    /* "(0)" after a code whose country uses trunk 0 is dropped; Italy's 0 is kept */
    phone_ok("+44 (0)20 7946 0958", NULL, "+442079460958");
    phone_ok("0044 (0) 20 7946 0958", NULL, "+442079460958");
    phone_ok("+49 (0)30 123456789", NULL, "+4930123456789");
    phone_ok("+39 (0)6 1234 5678", NULL, "+390612345678");
    /* a '+' number must not start with 0 after the '+' */
    phone_bad("+0044 20 7946 0958", NULL);
    phone_bad("+(0)20 7946 0958", NULL);
    phone_bad("000 1234 5678", "GB");
}

static void test_phone_lengths(void **state)
{
    (void)state;
    /* Lengths are each country's own (libphonenumber's metadata), not one rule for all. */
    phone_ok("+49 30 123456789", NULL, "+4930123456789");   /* German numbers vary in length */
    phone_ok("+49 30 1234567", NULL, "+49301234567");
    phone_ok("+33 1 23 45 67 89", NULL, "+33123456789");     /* French numbers have 9 digits: */
    phone_bad("+33 1 23 45 67 8", NULL);                     /* one short */
    phone_bad("+33 1 23 45 67 890", NULL);                   /* one too many */
    phone_bad("+4470123456", NULL);                          /* UK personal numbers have 10 digits */
    phone_bad("+123456789012345", NULL);                     /* +1 234 ...: too long for North America */
    phone_bad("+999 1234 5678", NULL);                       /* no such calling code */
    phone_bad("+44 (00)20 7946 098", "DE");                  /* a leading zero E.164 cannot hold (fuzz finding) */
    phone_bad("+1234567", NULL);
    phone_bad("0123", "GB");
    phone_bad("01234", "GB");
    phone_bad("1234567890123456789012345678901234567890", NULL);
    phone_bad("+1234567890123456789012345678901234567890", NULL);
    phone_bad("", "GB");
    phone_bad("   ", "GB");
    phone_bad("+", NULL);
    phone_bad("()-.", "GB");
}

static void test_phone_garbage(void **state)
{
    (void)state;
    phone_bad("020 7946 0958", NULL);   /* national form, no country */
    phone_bad("020 7946 0958", "");
    phone_bad("020 7946 0958", "XX");   /* unknown country */
    phone_bad("020 7946 0958", "GBR");
    phone_bad("020 7946 0958", "G");
    phone_bad("020 7946 0958", "AQ");   /* valid ISO code, no calling code */
    phone_bad("020 7946 095O", "GB");   /* letter O */
    phone_bad("0800 FLOWERS", "GB");
    phone_bad("020 7946 0958 ext 12", "GB");
    phone_bad("020 7946 0958 x12", "GB");
    phone_bad("020_7946_0958", "GB");
    phone_bad("+44 20 7946 0958+", NULL);
    phone_bad("44 +20 7946 0958", NULL);
    phone_bad("++44 20 7946 0958", NULL);
    phone_bad("020\n7946 0958", "GB");
    phone_bad("\xef\xbc\x90\xef\xbc\x92\xef\xbc\x90", "GB"); /* full-width digits */
}

/* ---- countries ------------------------------------------------------------------------- */

/* All 249 officially assigned ISO 3166-1 alpha-2 codes. */
static const char all_codes[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

static void test_country_valid(void **state)
{
    (void)state;
    /* every listed code is valid, in either case */
    size_t listed = 0;
    for (const char *p = all_codes; *p; p += (p[2] == ' ') ? 3 : 2) {
        char cc[3] = {p[0], p[1], '\0'};
        if (!lp_country_valid(cc))
            fail_msg("%s should be valid", cc);
        char lc[3] = {(char)(cc[0] + 32), (char)(cc[1] + 32), '\0'};
        if (!lp_country_valid(lc))
            fail_msg("%s should be valid", lc);
        char mixed[3] = {cc[0], (char)(cc[1] + 32), '\0'};
        assert_true(lp_country_valid(mixed));
        listed++;
    }
    assert_int_equal(listed, 249);

    /* and nothing else among all 676 two-letter combinations */
    size_t valid = 0;
    for (char a = 'A'; a <= 'Z'; a++)
        for (char b = 'A'; b <= 'Z'; b++) {
            char cc[3] = {a, b, '\0'};
            valid += (size_t)lp_country_valid(cc);
        }
    assert_int_equal(valid, 249);

    assert_false(lp_country_valid("UK")); /* GB is the ISO code */
    assert_false(lp_country_valid("EU"));
    assert_false(lp_country_valid("XK"));
    assert_false(lp_country_valid("ZZ"));
    assert_false(lp_country_valid("GBR"));
    assert_false(lp_country_valid("G"));
    assert_false(lp_country_valid(""));
    assert_false(lp_country_valid("G1"));
    assert_false(lp_country_valid(" GB"));
    assert_false(lp_country_valid(NULL));
}

static void test_country_calling_code(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"GB", "44"},  {"US", "1"},   {"CA", "1"},   {"AU", "61"},  {"NZ", "64"},  {"IN", "91"},
        {"CN", "86"},  {"JP", "81"},  {"KR", "82"},  {"BR", "55"},  {"MX", "52"},  {"AR", "54"},
        {"ZA", "27"},  {"NG", "234"}, {"KE", "254"}, {"EG", "20"},  {"TR", "90"},  {"RU", "7"},
        {"KZ", "7"},   {"UA", "380"}, {"CH", "41"},  {"NO", "47"},  {"SE", "46"},  {"DK", "45"},
        {"FI", "358"}, {"IE", "353"}, {"IL", "972"}, {"AE", "971"}, {"SA", "966"}, {"SG", "65"},
        {"MY", "60"},  {"ID", "62"},  {"PH", "63"},  {"TH", "66"},  {"VN", "84"},  {"PK", "92"},
        {"BD", "880"}, {"DE", "49"},  {"FR", "33"},  {"IT", "39"},  {"ES", "34"},  {"PT", "351"},
        {"NL", "31"},  {"BE", "32"},  {"LU", "352"}, {"AT", "43"},  {"PL", "48"},  {"CZ", "420"},
        {"SK", "421"}, {"HU", "36"},  {"SI", "386"}, {"HR", "385"}, {"RO", "40"},  {"BG", "359"},
        {"GR", "30"},  {"CY", "357"}, {"MT", "356"}, {"EE", "372"}, {"LV", "371"}, {"LT", "370"},
        {"IS", "354"}, {"HK", "852"}, {"TW", "886"}, {"CL", "56"},  {"CO", "57"},  {"PE", "51"},
        {"VE", "58"},  {"MA", "212"}, {"DZ", "213"}, {"TN", "216"}, {"GH", "233"}, {"ET", "251"},
        {"QA", "974"}, {"KW", "965"}, {"IR", "98"},  {"IQ", "964"}, {"LK", "94"},  {"NP", "977"},
        {"PR", "1"},   {"JM", "1"},   {"VA", "39"},  {"gb", "44"},  {"De", "49"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const char *got = lp_country_calling_code(pairs[i][0]);
        if (!got || strcmp(got, pairs[i][1]) != 0)
            fail_msg("%s: want %s, got %s", pairs[i][0], pairs[i][1], got ? got : "NULL");
    }
    assert_null(lp_country_calling_code("AQ"));
    assert_null(lp_country_calling_code("XX"));
    assert_null(lp_country_calling_code("UK"));
    assert_null(lp_country_calling_code(""));
    assert_null(lp_country_calling_code(NULL));

    /* every country with a calling code normalises a national number without crashing,
       and the result starts with its calling code */
    size_t with_code = 0;
    for (const char *p = all_codes; *p; p += (p[2] == ' ') ? 3 : 2) {
        char cc[3] = {p[0], p[1], '\0'};
        const char *code = lp_country_calling_code(cc);
        if (!code)
            continue;
        with_code++;
        assert_true(strlen(code) >= 1 && strlen(code) <= 3 && code[0] != '0');
    }
    assert_true(with_code >= 240);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_valid),         cmocka_unit_test(test_email_invalid),
        cmocka_unit_test(test_email_lengths),       cmocka_unit_test(test_email_buffer),
        cmocka_unit_test(test_phone_national),      cmocka_unit_test(test_phone_international),
        cmocka_unit_test(test_phone_lengths),       cmocka_unit_test(test_phone_garbage),
        cmocka_unit_test(test_country_valid),       cmocka_unit_test(test_country_calling_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
