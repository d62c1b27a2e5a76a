/* walbuf.h — the SQLite VFS leadpath's connections use: the default one, with each commit's WAL
 * frames written in one system call (see walbuf.c). Relies on synchronous=FULL, which every
 * leadpath connection sets: SQLite syncs the WAL before it publishes new frames. */
#ifndef LP_STORE_WALBUF_H
#define LP_STORE_WALBUF_H
#define LP_WALBUF_VFS "leadpath-walbuf"
/* Registers the VFS (once; safe to call again). SQLITE_OK or an SQLite error code. */
int lp_walbuf_register(void);
#endif
