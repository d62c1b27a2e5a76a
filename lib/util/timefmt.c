/* timefmt.c — RFC 3339 parsing/formatting and day differences by pure calendar arithmetic
 * (Howard Hinnant's days_from_civil / civil_from_days), no gmtime/timegm, no global state. */
#include "util/timefmt.h"

#define SECS_PER_DAY INT64_C(86400)

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                        /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                      /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n decimal digits at s into *v. Stops at the first non-digit (including the
 * terminating NUL), so it never reads past the end of the string. */
static int read_digits(const char *s, int n, int *v)
{
    int acc = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        acc = acc * 10 + (s[i] - '0');
    }
    *v = acc;
    return 0;
}

int lp_time_parse(const char *s, int64_t *out)
{
    if (!s || !out)
        return -1;

    int year, mon, day, hour = 0, min = 0, sec = 0;
    if (read_digits(s, 4, &year) || s[4] != '-' || read_digits(s + 5, 2, &mon) || s[7] != '-' ||
        read_digits(s + 8, 2, &day))
        return -1;
    if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
        day > days_in_month(year, mon))
        return -1;

    int64_t offset = 0; /* seconds east of UTC */
    const char *p = s + 10;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        if (read_digits(p + 1, 2, &hour) || p[3] != ':' || read_digits(p + 4, 2, &min) ||
            p[6] != ':' || read_digits(p + 7, 2, &sec))
            return -1;
        if (hour > 23 || min > 59 || sec > 60)
            return -1;
        if (sec == 60)
            sec = 59;
        p += 9;
        if (*p == '.') {
            p++;
            if (*p < '0' || *p > '9')
                return -1;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            if (read_digits(p + 1, 2, &oh) || p[3] != ':' || read_digits(p + 4, 2, &om))
                return -1;
            if (oh > 23 || om > 59)
                return -1;
            offset = sign * (int64_t)(oh * 3600 + om * 60);
            p += 6;
        } else {
            return -1;
        }
        if (*p != '\0')
            return -1;
    }

    int64_t t = days_from_civil(year, mon, day) * SECS_PER_DAY + hour * 3600 + min * 60 + sec -
                offset;
    if (t < LP_TIME_MIN || t > LP_TIME_MAX)
        return -1;
    *out = t;
    return 0;
}

/* Writes v as exactly n zero-padded decimal digits (v must be non-negative and fit). */
static void put_digits(char *dst, int n, int64_t v)
{
    for (int i = n - 1; i >= 0; i--) {
        dst[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void lp_time_format(int64_t t, char out[LP_TIME_LEN])
{
    if (!out)
        return;
    if (t < LP_TIME_MIN)
        t = LP_TIME_MIN;
    if (t > LP_TIME_MAX)
        t = LP_TIME_MAX;

    int64_t days = t / SECS_PER_DAY, rem = t % SECS_PER_DAY; /* t >= 0: plain division floors */
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);

    put_digits(out, 4, y);
    out[4] = '-';
    put_digits(out + 5, 2, m);
    out[7] = '-';
    put_digits(out + 8, 2, d);
    out[10] = 'T';
    put_digits(out + 11, 2, rem / 3600);
    out[13] = ':';
    put_digits(out + 14, 2, rem / 60 % 60);
    out[16] = ':';
    put_digits(out + 17, 2, rem % 60);
    out[19] = 'Z';
    out[20] = '\0';
}

int64_t lp_days_between(int64_t earlier, int64_t later)
{
    if (later <= earlier)
        return 0;
    /* later > earlier, so the true difference is in (0, 2^64): exact in uint64_t. */
    uint64_t diff = (uint64_t)later - (uint64_t)earlier;
    return (int64_t)(diff / 86400u);
}
