// phone.cc — phone numbers through libphonenumber (Google's metadata of every country's number
// lengths, trunk prefixes and formats, kept current by Debian), behind the C interface of
// util/valid.h. PhoneNumberUtil is a read-only singleton once made: thread-safe.
#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/phonenumber.pb.h>

#include <cstring>
#include <string>

extern "C" {
#include "util/valid.h"
}

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

int put(const std::string &s, char *out, size_t outsz) {
  if (s.size() + 1 > outsz) { if (outsz) out[0] = 0; return -1; }
  memcpy(out, s.c_str(), s.size() + 1);
  return 0;
}

// What people write around a number: digits, blanks, . - / ( ) and one leading + (or 00).
// Letters (vanity numbers, "ext"), a second '+' or anything else are refused, as before.
bool plain(const char *in, std::string *clean) {
  int plus = 0, digits = 0;
  for (const char *p = in; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= '0' && c <= '9') { digits++; clean->push_back((char)c); continue; }
    if (c == '+') { if (plus++ || digits) return false; clean->push_back('+'); continue; }
    if (c == ' ' || c == '\t' || c == '.' || c == '-' || c == '/' || c == '(' || c == ')') { clean->push_back((char)c); continue; }
    return false;
  }
  return digits > 0 && digits <= 20;
}

}  // namespace

extern "C" int lp_phone_normalize(const char *in, const char *country, char *out, size_t outsz) {
  if (out && outsz) out[0] = 0;
  if (!in || !out || outsz == 0) return -1;
  std::string text;
  if (!plain(in, &text)) return -1;
  // "00" opens an international number wherever it was dialled from (as the old rules had it).
  size_t first = text.find_first_not_of(" \t");
  if (first != std::string::npos && text.compare(first, 2, "00") == 0 && text.find('+') == std::string::npos)
    text.replace(first, 2, "+");
  std::string region = "ZZ";
  if (country && strlen(country) == 2 && lp_country_valid(country)) {
    region = country;
    for (char &c : region) c = (char)toupper((unsigned char)c);
  }
  const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (u->Parse(text, region, &n) != PhoneNumberUtil::NO_PARSING_ERROR) return -1;
  if (n.has_extension()) return -1;
  // Possible: the right length for its country (valid would also check today's number ranges,
  // which refuses numbers newer than the metadata; a CRM keeps them).
  if (u->IsPossibleNumberWithReason(n) != PhoneNumberUtil::IS_POSSIBLE) return -1;  // not local-only, not too short or long
  std::string where;
  u->GetRegionCodeForCountryCode(n.country_code(), &where);
  if (where == "ZZ") return -1;  // no such calling code
  // North America: the area code and exchange have rules of their own (neither starts 0 or 1).
  if (n.country_code() == 1 && !u->IsValidNumber(n)) return -1;
  std::string e164;
  u->Format(n, PhoneNumberUtil::E164, &e164);
  if (e164.size() < 9 || e164.size() > 16) return -1;  // '+' and 8..15 digits
  // The stored form must read back as itself: a number whose meaning hangs on how it was typed
  // (a "(00)" after the calling code keeps a leading zero that E.164 cannot say) is refused rather
  // than stored as something else. Only when the number carried such a zero: a parse is the
  // costly part of a create's validation (ICU regular expressions).
  if (n.italian_leading_zero() || n.has_number_of_leading_zeros()) {
    PhoneNumber again;
    std::string e2;
    if (u->Parse(e164, "ZZ", &again) != PhoneNumberUtil::NO_PARSING_ERROR) return -1;
    u->Format(again, PhoneNumberUtil::E164, &e2);
    if (e2 != e164) return -1;
  }
  return put(e164, out, outsz);
}

extern "C" int lp_phone_format(const char *e164, char *out, size_t outsz) {
  if (out && outsz) out[0] = 0;
  if (!e164 || !out || outsz == 0 || e164[0] != '+') return -1;
  const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (u->Parse(e164, "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR) return -1;
  std::string s;
  u->Format(n, PhoneNumberUtil::INTERNATIONAL, &s);
  return put(s, out, outsz);
}
