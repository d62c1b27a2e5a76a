/* valid.h — validation and normalisation of lead contact data: e-mail addresses, phone
 * numbers (to E.164) and ISO 3166-1 alpha-2 country codes.
 *
 * All functions are pure: no allocation, no global state besides const tables, reentrant and
 * thread-safe. Input strings are NUL-terminated, only read, and not retained. Output buffers
 * are owned by the caller; on failure they hold the empty string (when outsz > 0). */
#ifndef LP_UTIL_VALID_H
#define LP_UTIL_VALID_H

#include <stddef.h>

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

/* Normalises a phone number to E.164 ("+<digits>").
 * Input may contain digits, spaces/tabs, '.', '-', and balanced, non-nested parentheses; a
 * leading '+' or "00" marks an international number given with its country calling code
 * (country is then ignored). In that form a "(0)" group directly after a calling code whose
 * countries use the trunk prefix 0 is dropped ("+44 (0)20 ..." -> "+4420...").
 * Otherwise `country` (ISO 3166-1 alpha-2, case-insensitive; NULL or "" means unknown) supplies
 * the calling code and one national trunk prefix is stripped where that country uses one
 * ('0' for GB/DE/FR/NL/..., '8' for RU/KZ/..., "06" for HU; none for IT, ES, PT, ... — Italy
 * keeps its leading 0). NANP countries (US, CA, ...): a 10-digit number gets +1, an 11-digit
 * number starting with 1 keeps its 1; the area code must not start with 0 or 1.
 * Any other character (letters, "ext", a second '+', ...) -> -1. Without an international
 * prefix and without a known country -> -1.
 * The result must have 8..15 digits after '+' and not start with 0.
 * Writes into out (outsz bytes incl. NUL; LP_PHONE_BUFSZ always suffices).
 * Returns 0, or -1 on any failure (including NULL in/out or a too small buffer). */
int lp_phone_normalize(const char *in, const char *country, char *out, size_t outsz);

/* 1 if cc is one of the 249 officially assigned ISO 3166-1 alpha-2 codes (compared
 * case-insensitively, exactly two letters), else 0 (also for NULL). */
int lp_country_valid(const char *cc);

/* The international calling code (digits, no '+') for an ISO 3166-1 alpha-2 country, e.g.
 * "GB" -> "44", "US" -> "1"; case-insensitive. Returns a pointer to a static constant string
 * (never free it), or NULL if cc is unknown or has no calling code of its own (AQ, BV, HM, TF,
 * UM). */
const char *lp_country_calling_code(const char *cc);

#endif
