/* test_timefmt.c — unit tests for lib/util/timefmt: RFC 3339 parsing (ranges, leap years,
 * offsets, garbage), formatting, parse/format round trips checked against an independent naive
 * calendar walk, and lp_days_between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/timefmt.h"

/* Parses s, asserting success, and returns the value. */
static int64_t parse_ok(const char *s)
{
    int64_t t = -12345;
    if (lp_time_parse(s, &t) != 0)
        fail_msg("lp_time_parse rejected \"%s\"", s);
    return t;
}

/* Asserts s is rejected and the output is left untouched. */
static void parse_bad(const char *s)
{
    int64_t t = -12345;
    if (lp_time_parse(s, &t) != -1)
        fail_msg("lp_time_parse accepted \"%s\" as %lld", s, (long long)t);
    assert_int_equal(t, -12345);
}

static void test_parse_basic(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2026-11-22T19:20:06Z"), 1795375206);
    assert_int_equal(parse_ok("2038-01-19T03:14:08Z"), INT64_C(2147483648));
    assert_int_equal(parse_ok("2024-12-31T23:59:59Z"), 1735689599);
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
}

static void test_parse_variants(void **state)
{
    (void)state;
    const int64_t want = 1795375206;
    assert_int_equal(parse_ok("2026-11-22t19:20:06z"), want);
    assert_int_equal(parse_ok("2026-11-22 19:20:06Z"), want);
    assert_int_equal(parse_ok("2026-11-22T19:20:06.123Z"), want);
    assert_int_equal(parse_ok("2026-11-22T19:20:06.999999999Z"), want); /* truncated, not rounded */
    assert_int_equal(parse_ok("2026-11-22T19:20:06.0+00:00"), want);
    assert_int_equal(parse_ok("2026-11-22T19:20:06-00:00"), want);
    /* bare date: midnight UTC */
    assert_int_equal(parse_ok("2026-11-22"), 1795305600);
    assert_int_equal(parse_ok("1970-01-01"), 0);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    const int64_t want = 1795375206; /* 2026-11-22T19:20:06Z */
    assert_int_equal(parse_ok("2026-11-22T21:20:06+02:00"), want);
    assert_int_equal(parse_ok("2026-11-22T14:20:06-05:00"), want);
    assert_int_equal(parse_ok("2026-11-23T00:50:06+05:30"), want);
    assert_int_equal(parse_ok("2026-11-22T21:20:06.5+02:00"), want);
    /* offset moves the instant across a day, month and leap-day boundary */
    assert_int_equal(parse_ok("2024-03-01T01:00:00+02:00"), 1709247600); /* 2024-02-29T23:00Z */
    assert_int_equal(parse_ok("2026-11-22T23:50:06-02:00"), 1795398606); /* 2026-11-23T01:50:06Z */
    assert_int_equal(parse_ok("2026-11-22T19:20:06+23:59"), want - 23 * 3600 - 59 * 60);
    /* the UTC instant must stay within 1970..9999 */
    assert_int_equal(parse_ok("1970-01-01T01:00:00+01:00"), 0);
    parse_bad("1970-01-01T00:30:00+01:00");
    assert_int_equal(parse_ok("9999-12-31T23:59:59+01:00"), INT64_C(253402300799) - 3600);
    parse_bad("9999-12-31T23:59:59-01:00");
}

static void test_parse_leap_years(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29"), 1709164800);
    assert_int_equal(parse_ok("2024-02-29T12:00:00Z"), 1709164800 + 12 * 3600);
    assert_int_equal(parse_ok("2000-02-29"), 951782400); /* divisible by 400: leap */
    parse_bad("2023-02-29");
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("2100-02-29"); /* divisible by 100 only: not leap */
    parse_bad("2024-02-30");
    assert_int_equal(parse_ok("2023-02-28") + 86400, parse_ok("2023-03-01"));
    assert_int_equal(parse_ok("2024-02-28") + 2 * 86400, parse_ok("2024-03-01"));
}

static void test_parse_ranges(void **state)
{
    (void)state;
    parse_bad("1969-12-31");
    parse_bad("1969-12-31T23:59:59Z");
    parse_bad("0000-01-01");
    parse_bad("10000-01-01");
    parse_bad("2026-00-10");
    parse_bad("2026-13-10");
    parse_bad("2026-01-00");
    parse_bad("2026-01-32");
    parse_bad("2026-04-31");
    parse_bad("2026-06-31");
    parse_bad("2026-09-31");
    parse_bad("2026-11-31");
    assert_int_equal(parse_ok("2026-12-31"), parse_ok("2026-12-30") + 86400);
    assert_int_equal(parse_ok("2026-11-22T23:59:59Z"), 1795305600 + 86399);
    parse_bad("2026-11-22T24:00:00Z");
    parse_bad("2026-11-22T23:60:00Z");
    parse_bad("2026-11-22T23:59:61Z");
    /* leap second 60 clamps to 59 */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2016-12-31T23:59:59Z"));
    parse_bad("2026-11-22T19:20:06+24:00");
    parse_bad("2026-11-22T19:20:06+02:60");
    parse_bad("2026-11-22T19:20:06-99:00");
}

static void test_parse_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "abcd",
        "2026",
        "2026-11",
        "2026-11-2",
        "2026-1-22",
        "26-11-22",
        "2026/11/22",
        "2026-11-22 ",
        " 2026-11-22",
        "2026-11-22x",
        "2026-11-22T",
        "2026-11-22T19",
        "2026-11-22T19:20",
        "2026-11-22T19:20Z",
        "2026-11-22T19:20:06",  /* no zone */
        "2026-11-22T19:20:6Z",
        "2026-11-22T19:20:06ZZ",
        "2026-11-22T19:20:06Z ",
        "2026-11-22T19:20:06Zx",
        "2026-11-22T19:20:06.Z",
        "2026-11-22T19:20:06.",
        "2026-11-22T19:20:06.12a",
        "2026-11-22T19:20:06,123Z",
        "2026-11-22T19:20:06+0200",
        "2026-11-22T19:20:06+02",
        "2026-11-22T19:20:06+02:0",
        "2026-11-22T19:20:06+02:00Z",
        "2026-11-22T19:20:06+02:00 ",
        "2026-11-22T19:20:06 +02:00",
        "2026-11-22X19:20:06Z",
        "2026-11-22  19:20:06Z",
        "2026-11-22T19-20-06Z",
        "+2026-11-22",
        "-2026-11-22",
        "2026-+1-22",
        "2026-11-22\n",
        "1795375206",
        "2026-11-22T19:20:06UTC",
        "2026-11-22T19:20:06GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(bad[i]);

    int64_t t = 7;
    assert_int_equal(lp_time_parse(NULL, &t), -1);
    assert_int_equal(t, 7);
    assert_int_equal(lp_time_parse("2026-11-22", NULL), -1);
}

static void test_format(void **state)
{
    (void)state;
    char buf[LP_TIME_LEN];
    lp_time_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    lp_time_format(1795375206, buf);
    assert_string_equal(buf, "2026-11-22T19:20:06Z");
    lp_time_format(1709164800 + 86399, buf);
    assert_string_equal(buf, "2024-02-29T23:59:59Z");
    lp_time_format(1709164800 + 86400, buf);
    assert_string_equal(buf, "2024-03-01T00:00:00Z");
    lp_time_format(951782400, buf);
    assert_string_equal(buf, "2000-02-29T00:00:00Z");
    lp_time_format(INT64_C(2147483648), buf);
    assert_string_equal(buf, "2038-01-19T03:14:08Z");
    lp_time_format(INT64_C(253402300799), buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    assert_int_equal(strlen(buf), LP_TIME_LEN - 1);

    /* out-of-range input is clamped, the shape never changes */
    lp_time_format(-1, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    lp_time_format(INT64_MIN, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    lp_time_format(INT64_C(253402300800), buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    lp_time_format(INT64_MAX, buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");

    lp_time_format(0, NULL); /* must not crash */
}

/* Independent oracle: walks years and months one at a time from 1970 (t >= 0). */
static void naive_civil(int64_t t, char want[64])
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = t / 86400, rem = t % 86400;
    int year = 1970, mon = 0;
    for (;;) {
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int len = leap ? 366 : 365;
        if (days < len)
            break;
        days -= len;
        year++;
    }
    for (;;) {
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int len = mdays[mon] + (mon == 1 && leap);
        if (days < len)
            break;
        days -= len;
        mon++;
    }
    snprintf(want, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, mon + 1, (int)days + 1,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

/* Checks one instant: the formatted text matches the naive oracle, and parsing it gives t back. */
static void check_round_trip(int64_t t)
{
    char buf[LP_TIME_LEN], want[64];
    lp_time_format(t, buf);
    naive_civil(t, want);
    if (strcmp(buf, want) != 0)
        fail_msg("t=%lld: formatted %s, naive calendar says %s", (long long)t, buf, want);

    int64_t back = -1;
    if (lp_time_parse(buf, &back) != 0 || back != t)
        fail_msg("t=%lld: round trip via %s gave %lld", (long long)t, buf, (long long)back);
}

static void test_round_trip(void **state)
{
    (void)state;
    /* a stride that is prime and not a multiple of a day walks through every time of day */
    const int64_t stride = INT64_C(1000003) * 61;
    for (int64_t t = 0; t <= INT64_C(253402300799); t += stride)
        check_round_trip(t);

    /* every day boundary (and neighbours) over the leap-year-heavy range 1970..2110 */
    for (int64_t day = 0; day < 51500; day++) {
        check_round_trip(day * 86400);
        check_round_trip(day * 86400 + 86399);
    }

    static const int64_t edges[] = {
        0, 1, 59, 60, 3599, 3600, 86399, 86400,
        951782400,                /* 2000-02-29 */
        951868800,                /* 2000-03-01 */
        1709164800,               /* 2024-02-29 */
        INT64_C(2147483647), INT64_C(2147483648), INT64_C(4102444800), /* 2100-01-01 */
        INT64_C(4107542400),      /* 2100-03-01 (no Feb 29) */
        INT64_C(253402300799),
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_round_trip(edges[i]);

    /* and text -> t -> text for a few canonical strings */
    static const char *const texts[] = {"1970-01-01T00:00:00Z", "2024-02-29T12:34:56Z",
                                        "2026-11-22T19:20:06Z", "9999-12-31T23:59:59Z",
                                        "2100-02-28T23:59:59Z"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char buf[LP_TIME_LEN];
        lp_time_format(parse_ok(texts[i]), buf);
        assert_string_equal(buf, texts[i]);
    }
}

static void test_days_between(void **state)
{
    (void)state;
    assert_int_equal(lp_days_between(0, 0), 0);
    assert_int_equal(lp_days_between(0, 86399), 0);
    assert_int_equal(lp_days_between(0, 86400), 1);
    assert_int_equal(lp_days_between(100, 86500), 1);
    assert_int_equal(lp_days_between(100, 86499), 0);
    assert_int_equal(lp_days_between(0, 10 * 86400 + 5), 10);
    assert_int_equal(lp_days_between(parse_ok("2024-02-28"), parse_ok("2024-03-01")), 2);
    assert_int_equal(lp_days_between(parse_ok("2023-02-28"), parse_ok("2023-03-01")), 1);
    assert_int_equal(lp_days_between(parse_ok("2024-01-01"), parse_ok("2025-01-01")), 366);
    assert_int_equal(lp_days_between(parse_ok("2023-01-01"), parse_ok("2024-01-01")), 365);
    /* never negative */
    assert_int_equal(lp_days_between(86400, 0), 0);
    assert_int_equal(lp_days_between(INT64_MAX, INT64_MIN), 0);
    /* negative instants and extreme spans without overflow */
    assert_int_equal(lp_days_between(-86400, 0), 1);
    assert_int_equal(lp_days_between(-1, 0), 0);
    assert_int_equal(lp_days_between(-86401, 0), 1);
    assert_int_equal(lp_days_between(INT64_MIN, INT64_MAX), (int64_t)(UINT64_MAX / 86400u));
    assert_int_equal(lp_days_between(0, INT64_MAX), INT64_MAX / 86400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),     cmocka_unit_test(test_parse_variants),
        cmocka_unit_test(test_parse_offsets),   cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_ranges),    cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_format),          cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_days_between),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
