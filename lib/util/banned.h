/* banned.h — force-included into every translation unit: calls that invite overflows are
 * compile errors. Use snprintf, lp_buf, strtoll with checks instead. */
#ifndef LP_BANNED_H
#define LP_BANNED_H
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#define LP_BANNED(func) sorry_##func##_is_banned_in_leadpath
#undef strcpy
#define strcpy(x, y) LP_BANNED(strcpy)
#undef strcat
#define strcat(x, y) LP_BANNED(strcat)
#undef sprintf
#define sprintf(...) LP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) LP_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) LP_BANNED(strtok)
#undef atoi
#define atoi(x) LP_BANNED(atoi)
#undef gets
#define gets(x) LP_BANNED(gets)
#endif
