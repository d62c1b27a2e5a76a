/* clock.h — the binary's one clock. lib/ never reads the time: everything in src/ that hands a
 * time to the library (requests, jobs, commands) takes it from here. */
#ifndef LP_APP_CLOCK_H
#define LP_APP_CLOCK_H
#include <stdint.h>
/* Seconds since the epoch, shifted forward by LEADPATH_TIME_OFFSET seconds when that is set
 * (for trying out SLA rules); the offset is read once. */
int64_t lp_clock_now(void);
#endif
