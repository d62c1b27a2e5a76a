/* tz.h — is a name an IANA time zone ("Europe/London", "UTC")? The company's time zone setting is
 * checked against the system's time zone database (Debian's tzdata, /usr/share/zoneinfo), so a
 * typo is refused when it is saved rather than met later. */
#ifndef LP_UTIL_TZ_H
#define LP_UTIL_TZ_H

/* 1 when name has the shape of a zone name (letters, digits, '_', '-', '+', one or more
 * '/'-separated parts, no "." parts, at most 64 characters) and the time zone database has a
 * zone file of that name (TZif), else 0. "UTC" is always known. Reads a file; thread-safe. */
int lp_tz_valid(const char *name);
#endif
