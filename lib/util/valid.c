/* valid.c — e-mail normalisation and the ISO 3166-1 alpha-2 country table with calling codes
 * (phone numbers: phone.cc, over libphonenumber). Pure functions over const data: thread-safe. */
#include "util/valid.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- countries ------------------------------------------------------------------------- */

/* One ISO 3166-1 alpha-2 country and its ITU calling code (NULL for the few codes without one
 * of their own). Sorted by code. Phone numbers themselves are read by libphonenumber (phone.cc). */
struct country {
    char cc[3];
    const char *calling;
};

static const struct country countries[] = {
    {"AD", "376"}, {"AE", "971"}, {"AF", "93"}, {"AG", "1"}, {"AI", "1"},
    {"AL", "355"}, {"AM", "374"}, {"AO", "244"}, {"AQ", NULL}, {"AR", "54"},
    {"AS", "1"}, {"AT", "43"}, {"AU", "61"}, {"AW", "297"}, {"AX", "358"},
    {"AZ", "994"}, {"BA", "387"}, {"BB", "1"}, {"BD", "880"}, {"BE", "32"},
    {"BF", "226"}, {"BG", "359"}, {"BH", "973"}, {"BI", "257"}, {"BJ", "229"},
    {"BL", "590"}, {"BM", "1"}, {"BN", "673"}, {"BO", "591"}, {"BQ", "599"},
    {"BR", "55"}, {"BS", "1"}, {"BT", "975"}, {"BV", NULL}, {"BW", "267"},
    {"BY", "375"}, {"BZ", "501"}, {"CA", "1"}, {"CC", "61"},
    {"CD", "243"}, {"CF", "236"}, {"CG", "242"}, {"CH", "41"}, {"CI", "225"},
    {"CK", "682"}, {"CL", "56"}, {"CM", "237"}, {"CN", "86"}, {"CO", "57"},
    {"CR", "506"}, {"CU", "53"}, {"CV", "238"}, {"CW", "599"}, {"CX", "61"},
    {"CY", "357"}, {"CZ", "420"}, {"DE", "49"}, {"DJ", "253"}, {"DK", "45"},
    {"DM", "1"}, {"DO", "1"}, {"DZ", "213"}, {"EC", "593"}, {"EE", "372"},
    {"EG", "20"}, {"EH", "212"}, {"ER", "291"}, {"ES", "34"}, {"ET", "251"},
    {"FI", "358"}, {"FJ", "679"}, {"FK", "500"}, {"FM", "691"}, {"FO", "298"},
    {"FR", "33"}, {"GA", "241"}, {"GB", "44"}, {"GD", "1"}, {"GE", "995"},
    {"GF", "594"}, {"GG", "44"}, {"GH", "233"}, {"GI", "350"}, {"GL", "299"},
    {"GM", "220"}, {"GN", "224"}, {"GP", "590"}, {"GQ", "240"}, {"GR", "30"},
    {"GS", "500"}, {"GT", "502"}, {"GU", "1"}, {"GW", "245"}, {"GY", "592"},
    {"HK", "852"}, {"HM", NULL}, {"HN", "504"}, {"HR", "385"}, {"HT", "509"},
    {"HU", "36"}, {"ID", "62"}, {"IE", "353"}, {"IL", "972"},
    {"IM", "44"}, {"IN", "91"}, {"IO", "246"}, {"IQ", "964"}, {"IR", "98"},
    {"IS", "354"}, {"IT", "39"}, {"JE", "44"}, {"JM", "1"}, {"JO", "962"},
    {"JP", "81"}, {"KE", "254"}, {"KG", "996"}, {"KH", "855"},
    {"KI", "686"}, {"KM", "269"}, {"KN", "1"}, {"KP", "850"}, {"KR", "82"},
    {"KW", "965"}, {"KY", "1"}, {"KZ", "7"}, {"LA", "856"}, {"LB", "961"},
    {"LC", "1"}, {"LI", "423"}, {"LK", "94"}, {"LR", "231"}, {"LS", "266"},
    {"LT", "370"}, {"LU", "352"}, {"LV", "371"}, {"LY", "218"},
    {"MA", "212"}, {"MC", "377"}, {"MD", "373"}, {"ME", "382"},
    {"MF", "590"}, {"MG", "261"}, {"MH", "692"}, {"MK", "389"},
    {"ML", "223"}, {"MM", "95"}, {"MN", "976"}, {"MO", "853"}, {"MP", "1"},
    {"MQ", "596"}, {"MR", "222"}, {"MS", "1"}, {"MT", "356"}, {"MU", "230"},
    {"MV", "960"}, {"MW", "265"}, {"MX", "52"}, {"MY", "60"}, {"MZ", "258"},
    {"NA", "264"}, {"NC", "687"}, {"NE", "227"}, {"NF", "672"}, {"NG", "234"},
    {"NI", "505"}, {"NL", "31"}, {"NO", "47"}, {"NP", "977"}, {"NR", "674"},
    {"NU", "683"}, {"NZ", "64"}, {"OM", "968"}, {"PA", "507"}, {"PE", "51"},
    {"PF", "689"}, {"PG", "675"}, {"PH", "63"}, {"PK", "92"}, {"PL", "48"},
    {"PM", "508"}, {"PN", "64"}, {"PR", "1"}, {"PS", "970"}, {"PT", "351"},
    {"PW", "680"}, {"PY", "595"}, {"QA", "974"}, {"RE", "262"}, {"RO", "40"},
    {"RS", "381"}, {"RU", "7"}, {"RW", "250"}, {"SA", "966"}, {"SB", "677"},
    {"SC", "248"}, {"SD", "249"}, {"SE", "46"}, {"SG", "65"}, {"SH", "290"},
    {"SI", "386"}, {"SJ", "47"}, {"SK", "421"}, {"SL", "232"}, {"SM", "378"},
    {"SN", "221"}, {"SO", "252"}, {"SR", "597"}, {"SS", "211"}, {"ST", "239"},
    {"SV", "503"}, {"SX", "1"}, {"SY", "963"}, {"SZ", "268"}, {"TC", "1"},
    {"TD", "235"}, {"TF", NULL}, {"TG", "228"}, {"TH", "66"}, {"TJ", "992"},
    {"TK", "690"}, {"TL", "670"}, {"TM", "993"}, {"TN", "216"}, {"TO", "676"},
    {"TR", "90"}, {"TT", "1"}, {"TV", "688"}, {"TW", "886"}, {"TZ", "255"},
    {"UA", "380"}, {"UG", "256"}, {"UM", NULL}, {"US", "1"}, {"UY", "598"},
    {"UZ", "998"}, {"VA", "39"}, {"VC", "1"}, {"VE", "58"}, {"VG", "1"},
    {"VI", "1"}, {"VN", "84"}, {"VU", "678"}, {"WF", "681"}, {"WS", "685"},
    {"YE", "967"}, {"YT", "262"}, {"ZA", "27"}, {"ZM", "260"},
    {"ZW", "263"},
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

int lp_parse_id(const char *s, int64_t *out) {
  if (!s || !*s) return -1;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v <= 0) return -1;
  *out = v;
  return 0;
}
