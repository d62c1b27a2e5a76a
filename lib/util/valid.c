/* valid.c — e-mail and phone normalisation plus an ISO 3166-1 alpha-2 country table with
 * calling codes and national trunk prefixes. Pure functions over const data: thread-safe. */
#include "util/valid.h"

#include <stdint.h>
#include <string.h>

/* ---- countries ------------------------------------------------------------------------- */

/* One ISO 3166-1 alpha-2 country. `calling` is its ITU calling code (NULL for the few codes
 * without one of their own). `trunk` lists the national trunk prefixes stripped from numbers
 * written in national form, alternatives separated by '|', longest first ("" = none). For
 * NANP countries (calling code "1") trunk is "1" and handled specially. Sorted by code. */
struct country {
    char cc[3];
    const char *calling;
    const char *trunk;
};

static const struct country countries[] = {
    {"AD", "376", ""}, {"AE", "971", "0"}, {"AF", "93", "0"}, {"AG", "1", "1"}, {"AI", "1", "1"},
    {"AL", "355", "0"}, {"AM", "374", "0"}, {"AO", "244", ""}, {"AQ", NULL, ""}, {"AR", "54", "0"},
    {"AS", "1", "1"}, {"AT", "43", "0"}, {"AU", "61", "0"}, {"AW", "297", ""}, {"AX", "358", "0"},
    {"AZ", "994", "0"}, {"BA", "387", "0"}, {"BB", "1", "1"}, {"BD", "880", "0"}, {"BE", "32", "0"},
    {"BF", "226", ""}, {"BG", "359", "0"}, {"BH", "973", ""}, {"BI", "257", ""}, {"BJ", "229", ""},
    {"BL", "590", "0"}, {"BM", "1", "1"}, {"BN", "673", ""}, {"BO", "591", "0"}, {"BQ", "599", ""},
    {"BR", "55", "0"}, {"BS", "1", "1"}, {"BT", "975", ""}, {"BV", NULL, ""}, {"BW", "267", ""},
    {"BY", "375", "80|8"}, {"BZ", "501", ""}, {"CA", "1", "1"}, {"CC", "61", "0"},
    {"CD", "243", "0"}, {"CF", "236", ""}, {"CG", "242", ""}, {"CH", "41", "0"}, {"CI", "225", ""},
    {"CK", "682", ""}, {"CL", "56", ""}, {"CM", "237", ""}, {"CN", "86", "0"}, {"CO", "57", ""},
    {"CR", "506", ""}, {"CU", "53", "0"}, {"CV", "238", ""}, {"CW", "599", ""}, {"CX", "61", "0"},
    {"CY", "357", ""}, {"CZ", "420", ""}, {"DE", "49", "0"}, {"DJ", "253", ""}, {"DK", "45", ""},
    {"DM", "1", "1"}, {"DO", "1", "1"}, {"DZ", "213", "0"}, {"EC", "593", "0"}, {"EE", "372", ""},
    {"EG", "20", "0"}, {"EH", "212", "0"}, {"ER", "291", "0"}, {"ES", "34", ""}, {"ET", "251", "0"},
    {"FI", "358", "0"}, {"FJ", "679", ""}, {"FK", "500", ""}, {"FM", "691", ""}, {"FO", "298", ""},
    {"FR", "33", "0"}, {"GA", "241", ""}, {"GB", "44", "0"}, {"GD", "1", "1"}, {"GE", "995", "0"},
    {"GF", "594", "0"}, {"GG", "44", "0"}, {"GH", "233", "0"}, {"GI", "350", ""}, {"GL", "299", ""},
    {"GM", "220", ""}, {"GN", "224", ""}, {"GP", "590", "0"}, {"GQ", "240", ""}, {"GR", "30", ""},
    {"GS", "500", ""}, {"GT", "502", ""}, {"GU", "1", "1"}, {"GW", "245", ""}, {"GY", "592", ""},
    {"HK", "852", ""}, {"HM", NULL, ""}, {"HN", "504", ""}, {"HR", "385", "0"}, {"HT", "509", ""},
    {"HU", "36", "06"}, {"ID", "62", "0"}, {"IE", "353", "0"}, {"IL", "972", "0"},
    {"IM", "44", "0"}, {"IN", "91", "0"}, {"IO", "246", ""}, {"IQ", "964", "0"}, {"IR", "98", "0"},
    {"IS", "354", ""}, {"IT", "39", ""}, {"JE", "44", "0"}, {"JM", "1", "1"}, {"JO", "962", "0"},
    {"JP", "81", "0"}, {"KE", "254", "0"}, {"KG", "996", "0"}, {"KH", "855", "0"},
    {"KI", "686", ""}, {"KM", "269", ""}, {"KN", "1", "1"}, {"KP", "850", "0"}, {"KR", "82", "0"},
    {"KW", "965", ""}, {"KY", "1", "1"}, {"KZ", "7", "8"}, {"LA", "856", "0"}, {"LB", "961", "0"},
    {"LC", "1", "1"}, {"LI", "423", ""}, {"LK", "94", "0"}, {"LR", "231", "0"}, {"LS", "266", ""},
    {"LT", "370", "8|0"}, {"LU", "352", ""}, {"LV", "371", ""}, {"LY", "218", "0"},
    {"MA", "212", "0"}, {"MC", "377", ""}, {"MD", "373", "0"}, {"ME", "382", "0"},
    {"MF", "590", "0"}, {"MG", "261", "0"}, {"MH", "692", ""}, {"MK", "389", "0"},
    {"ML", "223", ""}, {"MM", "95", "0"}, {"MN", "976", "0"}, {"MO", "853", ""}, {"MP", "1", "1"},
    {"MQ", "596", "0"}, {"MR", "222", ""}, {"MS", "1", "1"}, {"MT", "356", ""}, {"MU", "230", ""},
    {"MV", "960", ""}, {"MW", "265", "0"}, {"MX", "52", ""}, {"MY", "60", "0"}, {"MZ", "258", ""},
    {"NA", "264", "0"}, {"NC", "687", ""}, {"NE", "227", ""}, {"NF", "672", ""}, {"NG", "234", "0"},
    {"NI", "505", ""}, {"NL", "31", "0"}, {"NO", "47", ""}, {"NP", "977", "0"}, {"NR", "674", ""},
    {"NU", "683", ""}, {"NZ", "64", "0"}, {"OM", "968", ""}, {"PA", "507", ""}, {"PE", "51", "0"},
    {"PF", "689", ""}, {"PG", "675", ""}, {"PH", "63", "0"}, {"PK", "92", "0"}, {"PL", "48", ""},
    {"PM", "508", ""}, {"PN", "64", ""}, {"PR", "1", "1"}, {"PS", "970", "0"}, {"PT", "351", ""},
    {"PW", "680", ""}, {"PY", "595", "0"}, {"QA", "974", ""}, {"RE", "262", "0"}, {"RO", "40", "0"},
    {"RS", "381", "0"}, {"RU", "7", "8"}, {"RW", "250", "0"}, {"SA", "966", "0"}, {"SB", "677", ""},
    {"SC", "248", ""}, {"SD", "249", "0"}, {"SE", "46", "0"}, {"SG", "65", ""}, {"SH", "290", ""},
    {"SI", "386", "0"}, {"SJ", "47", ""}, {"SK", "421", "0"}, {"SL", "232", "0"}, {"SM", "378", ""},
    {"SN", "221", ""}, {"SO", "252", "0"}, {"SR", "597", ""}, {"SS", "211", "0"}, {"ST", "239", ""},
    {"SV", "503", ""}, {"SX", "1", "1"}, {"SY", "963", "0"}, {"SZ", "268", ""}, {"TC", "1", "1"},
    {"TD", "235", ""}, {"TF", NULL, ""}, {"TG", "228", ""}, {"TH", "66", "0"}, {"TJ", "992", "8"},
    {"TK", "690", ""}, {"TL", "670", ""}, {"TM", "993", "8"}, {"TN", "216", ""}, {"TO", "676", ""},
    {"TR", "90", "0"}, {"TT", "1", "1"}, {"TV", "688", ""}, {"TW", "886", "0"}, {"TZ", "255", "0"},
    {"UA", "380", "0"}, {"UG", "256", "0"}, {"UM", NULL, ""}, {"US", "1", "1"}, {"UY", "598", "0"},
    {"UZ", "998", "8"}, {"VA", "39", ""}, {"VC", "1", "1"}, {"VE", "58", "0"}, {"VG", "1", "1"},
    {"VI", "1", "1"}, {"VN", "84", "0"}, {"VU", "678", ""}, {"WF", "681", ""}, {"WS", "685", ""},
    {"YE", "967", "0"}, {"YT", "262", "0"}, {"ZA", "27", "0"}, {"ZM", "260", "0"},
    {"ZW", "263", "0"},
};

#define N_COUNTRIES (sizeof countries / sizeof countries[0])

static char ascii_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Binary search for cc (exactly two ASCII letters, any case); NULL if not found. */
static const struct country *find_country(const char *cc)
{
    if (!cc || !is_alpha(cc[0]) || !is_alpha(cc[1]) || cc[2] != '\0')
        return NULL;
    char key[3] = {ascii_upper(cc[0]), ascii_upper(cc[1]), '\0'};
    size_t lo = 0, hi = N_COUNTRIES;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = memcmp(key, countries[mid].cc, 2);
        if (cmp == 0)
            return &countries[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int lp_country_valid(const char *cc)
{
    return find_country(cc) != NULL;
}

const char *lp_country_calling_code(const char *cc)
{
    const struct country *c = find_country(cc);
    return c ? c->calling : NULL;
}

/* ---- e-mail ---------------------------------------------------------------------------- */

#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 253
#define EMAIL_LABEL_MAX 63

static int email_local_char(char c)
{
    static const char specials[] = "!#$%&'*+/=?^_`{|}~-.";
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr(specials, c) != NULL);
}

static int email_local_ok(const char *s, size_t n)
{
    if (n < 1 || n > EMAIL_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!email_local_char(s[i]))
            return 0;
        if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
            return 0;
    }
    return 1;
}

/* s is already lower-cased. */
static int email_domain_ok(const char *s, size_t n)
{
    if (n < 1 || n > EMAIL_DOMAIN_MAX)
        return 0;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        size_t len = i - start;
        const char *label = s + start;
        if (len < 1 || len > EMAIL_LABEL_MAX || label[0] == '-' || label[len - 1] == '-')
            return 0;
        for (size_t j = 0; j < len; j++) {
            char c = label[j];
            if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-'))
                return 0;
        }
        labels++;
        if (i == n) { /* the TLD: letters only, at least two */
            if (len < 2)
                return 0;
            for (size_t j = 0; j < len; j++)
                if (!is_alpha(label[j]))
                    return 0;
        }
        start = i + 1;
    }
    return labels >= 2;
}

int lp_email_normalize(const char *in, char *out, size_t outsz)
{
    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    if (!in)
        return -1;

    while (is_space(*in))
        in++;
    size_t len = strlen(in);
    while (len > 0 && is_space(in[len - 1]))
        len--;
    if (len == 0 || len > LP_EMAIL_MAX || len >= outsz)
        return -1;

    char buf[LP_EMAIL_MAX + 1];
    for (size_t i = 0; i < len; i++)
        buf[i] = ascii_lower(in[i]);
    buf[len] = '\0';

    const char *at = memchr(buf, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - buf) - 1))
        return -1;
    size_t llen = (size_t)(at - buf);
    if (!email_local_ok(buf, llen) || !email_domain_ok(at + 1, len - llen - 1))
        return -1;

    memcpy(out, buf, len + 1);
    return 0;
}

/* ---- phone ----------------------------------------------------------------------------- */

#define E164_MIN 8
#define E164_MAX 15
#define PHONE_MAX_INPUT_DIGITS 32

/* If one of the '|'-separated alternatives in `trunk` prefixes the n digits at d, returns
 * its length, else 0. */
static size_t trunk_match(const char *trunk, const char *d, size_t n)
{
    const char *alt = trunk;
    while (*alt) {
        size_t alen = strcspn(alt, "|");
        if (alen > 0 && alen <= n && memcmp(alt, d, alen) == 0)
            return alen;
        alt += alen;
        if (*alt == '|')
            alt++;
    }
    return 0;
}

/* 1 if the n digits at d are the calling code of some country whose trunk prefix is "0". */
static int calling_code_has_zero_trunk(const char *d, size_t n)
{
    for (size_t i = 0; i < N_COUNTRIES; i++) {
        const struct country *c = &countries[i];
        if (c->calling && strlen(c->calling) == n && memcmp(c->calling, d, n) == 0 &&
            trunk_match(c->trunk, "0", 1) == 1)
            return 1;
    }
    return 0;
}

int lp_phone_normalize(const char *in, const char *country, char *out, size_t outsz)
{
    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    if (!in)
        return -1;

    /* Collect the digits, checking the punctuation. */
    char d[PHONE_MAX_INPUT_DIGITS];
    size_t n = 0, paren_start = 0, zero_group = SIZE_MAX;
    int plus = 0, seen = 0, in_paren = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (is_digit(c)) {
            if (n >= sizeof d)
                return -1;
            d[n++] = c;
        } else if (c == ' ' || c == '\t') {
            continue;
        } else if (c == '+') {
            if (seen)
                return -1;
            plus = 1;
        } else if (c == '.' || c == '-') {
            /* separator */
        } else if (c == '(') {
            if (in_paren)
                return -1;
            in_paren = 1;
            paren_start = n;
        } else if (c == ')') {
            if (!in_paren || n == paren_start)
                return -1;
            in_paren = 0;
            if (n - paren_start == 1 && d[paren_start] == '0' && zero_group == SIZE_MAX)
                zero_group = paren_start;
        } else {
            return -1;
        }
        seen = 1;
    }
    if (in_paren)
        return -1;

    char res[E164_MAX + 1];
    size_t rn = 0;
    if (plus || (n >= 2 && d[0] == '0' && d[1] == '0')) {
        size_t off = plus ? 0 : 2;
        for (size_t i = off; i < n; i++) {
            if (i == zero_group && calling_code_has_zero_trunk(d + off, i - off))
                continue; /* "+44 (0)20 ..." */
            if (rn >= E164_MAX)
                return -1;
            res[rn++] = d[i];
        }
    } else {
        const struct country *c = find_country(country);
        if (!c || !c->calling)
            return -1;
        const char *num = d;
        size_t nn = n;
        if (strcmp(c->calling, "1") == 0) { /* NANP: [1] NXX XXX XXXX */
            if (nn == 11 && num[0] == '1') {
                num++;
                nn--;
            }
            if (nn != 10 || num[0] < '2')
                return -1;
        } else {
            size_t t = trunk_match(c->trunk, num, nn);
            num += t;
            nn -= t;
        }
        size_t clen = strlen(c->calling);
        if (nn == 0 || clen + nn > E164_MAX)
            return -1;
        memcpy(res, c->calling, clen);
        memcpy(res + clen, num, nn);
        rn = clen + nn;
    }

    if (rn < E164_MIN || rn > E164_MAX || res[0] == '0' || rn + 2 > outsz)
        return -1;
    out[0] = '+';
    memcpy(out + 1, res, rn);
    out[rn + 1] = '\0';
    return 0;
}
