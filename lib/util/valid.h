/* valid.h — validation and normalisation of lead contact data: e-mail addresses, phone
 * numbers (to E.164) and ISO 3166-1 alpha-2 country codes.
 *
 * All functions are pure and thread-safe (phones: libphonenumber's read-only metadata). Input strings are NUL-terminated, only read, and not retained. Output buffers
 * are owned by the caller; on failure they hold the empty string (when outsz > 0). */
#ifndef LP_UTIL_VALID_H
#define LP_UTIL_VALID_H

#include <stddef.h>
#include <stdint.h>

/* Longest normalised e-mail address (RFC 5321 path limit) and a buffer size that fits it. */
#define LP_EMAIL_MAX 254
#define LP_EMAIL_BUFSZ (LP_EMAIL_MAX + 1)
/* Buffer size that fits any normalised phone number: '+', up to 15 digits, NUL. */
#define LP_PHONE_BUFSZ 17

/* Normalises an e-mail address: trims surrounding whitespace and lower-cases everything, then
 * checks a practical shape (stricter than RFC 5322, no quoted strings, no IDN/non-ASCII):
 *   - exactly one '@', total length <= 254;
 *   - local part 1..64 chars of [A-Za-z0-9.!#$%&'*+/=?^_`{|}~-], not starting or ending
 *     with '.', no "..";
 *   - domain 1..253 chars with at least one dot, labels 1..63 chars of [a-z0-9-] not starting
 *     or ending with '-' (so no trailing dot), last label (TLD) >= 2 letters only.
 * Writes the normalised address into out (outsz bytes including the NUL).
 * Returns 0, or -1 if in/out is NULL, the address is invalid, or it does not fit in outsz. */
int lp_email_normalize(const char *in, char *out, size_t outsz);

/* Normalises a phone number to E.164 ("+<digits>") with libphonenumber (lib/util/phone.cc).
 * Input may contain digits, blanks, '.', '-', '/' and parentheses; a leading '+' or "00" marks
 * an international number given with its calling code (country is then ignored; "+44 (0)20 ..."
 * drops the "(0)"). Otherwise `country` (ISO 3166-1 alpha-2, case-insensitive; NULL or "" means
 * unknown) says how to read it: its trunk prefix is dropped where the country uses one ("07700
 * 900123" in GB -> "+447700900123"; Italy keeps its leading 0), NANP numbers get +1.
 * The number must be possible for its country (libphonenumber's lengths; today's allocated ranges
 * are not required, so a new range is not refused; North American numbers must be valid, their
 * area code and exchange not starting with 0 or 1). Letters (vanity numbers, "ext"), a second '+'
 * or an extension -> -1; without an international prefix and without a known country -> -1.
 * Writes into out (outsz bytes incl. NUL; LP_PHONE_BUFSZ always suffices).
 * Returns 0, or -1 on any failure (including NULL in/out or a too small buffer). */
int lp_phone_normalize(const char *in, const char *country, char *out, size_t outsz);

/* An E.164 number written for reading, in its country's international format
 * ("+447700900123" -> "+44 7700 900123"). Returns 0, or -1 (out "") if it is not a number. */
#define LP_PHONE_SHOWSZ 40
int lp_phone_format(const char *e164, char *out, size_t outsz);

/* 1 if cc is one of the 249 officially assigned ISO 3166-1 alpha-2 codes (compared
 * case-insensitively, exactly two letters), else 0 (also for NULL). */
int lp_country_valid(const char *cc);

/* The international calling code (digits, no '+') for an ISO 3166-1 alpha-2 country, e.g.
 * "GB" -> "44", "US" -> "1"; case-insensitive. Returns a pointer to a static constant string
 * (never free it), or NULL if cc is unknown or has no calling code of its own (AQ, BV, HM, TF,
 * UM). */
const char *lp_country_calling_code(const char *cc);

/* Reads a record id given as text (a query parameter): a whole positive decimal number into *out.
 * Returns 0, or -1 for NULL, "", zero or less, or trailing characters. */
int lp_parse_id(const char *s, int64_t *out);

#endif
