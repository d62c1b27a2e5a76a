/* walbuf.c — a thin SQLite VFS over the default one that writes a commit's WAL frames with one
 * system call instead of two per page.
 *
 * SQLite appends each WAL frame as two writes (a 24-byte header, then the page), so a group
 * commit of 40 pages costs 80 pwrite calls, a sixth of the writer's time. Here writes to a WAL
 * file that continue the previous one are gathered in memory and written at once when SQLite
 * syncs the file — which, with synchronous=FULL, it does at every commit before it makes the new
 * frames visible to readers (the WAL index) — or before anything that must see the file as
 * written: a read, a write elsewhere in the file, a truncate, a size query, a file control, a
 * close. So the file holds what SQLite wrote whenever SQLite or another connection could look,
 * and a commit is on disk exactly when it was before. Every other file, and everything else on a
 * WAL file, goes straight to the default VFS.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include "store/walbuf.h"

#define BUF_CAP (4 << 20)   /* a larger run is written as it comes */

typedef struct wb_file {
  sqlite3_file base;
  sqlite3_file *real;     /* the default VFS's file, stored right after this struct */
  int wal;
  char *buf;
  int len;
  sqlite3_int64 off;      /* file offset of buf[0] */
} wb_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs wb_vfs;
static sqlite3_io_methods wb_methods;

/* The default VFS writes at most 128 KiB per call (larger amounts are cut modulo 128 KiB), so
 * runs go down in pieces of 64 KiB. */
#define PIECE (64 << 10)

static int put(wb_file *f, const char *data, int amt, sqlite3_int64 ofst) {
  for (int done = 0; done < amt; done += PIECE) {
    int n = amt - done < PIECE ? amt - done : PIECE;
    int rc = f->real->pMethods->xWrite(f->real, data + done, n, ofst + done);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

static int flush(wb_file *f) {
  if (!f->len) return SQLITE_OK;
  int rc = put(f, f->buf, f->len, f->off);
  f->len = 0;
  return rc;
}

static int wb_close(sqlite3_file *p) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  int rc2 = f->real->pMethods->xClose(f->real);
  free(f->buf);
  f->buf = NULL;
  return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *p, void *out, int amt, sqlite3_int64 ofst) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, ofst);
}

static int wb_write(sqlite3_file *p, const void *data, int amt, sqlite3_int64 ofst) {
  wb_file *f = (wb_file *)p;
  if (!f->wal) return f->real->pMethods->xWrite(f->real, data, amt, ofst);
  if (f->len && ofst == f->off + f->len && f->len + amt <= BUF_CAP) {
    memcpy(f->buf + f->len, data, (size_t)amt);
    f->len += amt;
    return SQLITE_OK;
  }
  int rc = flush(f);
  if (rc != SQLITE_OK) return rc;
  if (amt >= BUF_CAP) return put(f, data, amt, ofst);
  if (!f->buf && !(f->buf = malloc(BUF_CAP))) return put(f, data, amt, ofst);
  memcpy(f->buf, data, (size_t)amt);
  f->len = amt;
  f->off = ofst;
  return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *p, sqlite3_int64 size) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *p, int flags) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_size(sqlite3_file *p, sqlite3_int64 *size) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *p, int l) { return ((wb_file *)p)->real->pMethods->xLock(((wb_file *)p)->real, l); }
static int wb_unlock(sqlite3_file *p, int l) { return ((wb_file *)p)->real->pMethods->xUnlock(((wb_file *)p)->real, l); }
static int wb_check(sqlite3_file *p, int *out) { return ((wb_file *)p)->real->pMethods->xCheckReservedLock(((wb_file *)p)->real, out); }

static int wb_fcntl(sqlite3_file *p, int op, void *arg) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector(sqlite3_file *p) { return ((wb_file *)p)->real->pMethods->xSectorSize(((wb_file *)p)->real); }
static int wb_devchar(sqlite3_file *p) { return ((wb_file *)p)->real->pMethods->xDeviceCharacteristics(((wb_file *)p)->real); }
static int wb_shm_map(sqlite3_file *p, int pg, int sz, int ext, void volatile **out) {
  return ((wb_file *)p)->real->pMethods->xShmMap(((wb_file *)p)->real, pg, sz, ext, out);
}
static int wb_shm_lock(sqlite3_file *p, int off, int n, int flags) {
  return ((wb_file *)p)->real->pMethods->xShmLock(((wb_file *)p)->real, off, n, flags);
}
static void wb_shm_barrier(sqlite3_file *p) { ((wb_file *)p)->real->pMethods->xShmBarrier(((wb_file *)p)->real); }
static int wb_shm_unmap(sqlite3_file *p, int del) { return ((wb_file *)p)->real->pMethods->xShmUnmap(((wb_file *)p)->real, del); }
static int wb_fetch(sqlite3_file *p, sqlite3_int64 ofst, int amt, void **pp) {
  wb_file *f = (wb_file *)p;
  int rc = flush(f);
  return rc != SQLITE_OK ? rc : f->real->pMethods->xFetch(f->real, ofst, amt, pp);
}
static int wb_unfetch(sqlite3_file *p, sqlite3_int64 ofst, void *pg) { return ((wb_file *)p)->real->pMethods->xUnfetch(((wb_file *)p)->real, ofst, pg); }

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags, int *out_flags) {
  (void)vfs;
  wb_file *f = (wb_file *)p;
  memset(f, 0, sizeof *f);
  f->real = (sqlite3_file *)(f + 1);
  int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) { f->base.pMethods = NULL; return rc; }
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->base.pMethods = &wb_methods;
  return SQLITE_OK;
}

/* The rest of the VFS is the default one's. */
static int wb_delete(sqlite3_vfs *v, const char *n, int sync) { (void)v; return real_vfs->xDelete(real_vfs, n, sync); }
static int wb_access(sqlite3_vfs *v, const char *n, int fl, int *out) { (void)v; return real_vfs->xAccess(real_vfs, n, fl, out); }
static int wb_full(sqlite3_vfs *v, const char *n, int sz, char *out) { (void)v; return real_vfs->xFullPathname(real_vfs, n, sz, out); }
static void *wb_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return real_vfs->xDlOpen(real_vfs, n); }
static void wb_dlerror(sqlite3_vfs *v, int n, char *m) { (void)v; real_vfs->xDlError(real_vfs, n, m); }
static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return real_vfs->xDlSym(real_vfs, h, s); }
static void wb_dlclose(sqlite3_vfs *v, void *h) { (void)v; real_vfs->xDlClose(real_vfs, h); }
static int wb_random(sqlite3_vfs *v, int n, char *out) { (void)v; return real_vfs->xRandomness(real_vfs, n, out); }
static int wb_sleep(sqlite3_vfs *v, int us) { (void)v; return real_vfs->xSleep(real_vfs, us); }
static int wb_time(sqlite3_vfs *v, double *out) { (void)v; return real_vfs->xCurrentTime(real_vfs, out); }
static int wb_lasterr(sqlite3_vfs *v, int n, char *m) { (void)v; return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, m) : 0; }
static int wb_time64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return real_vfs->xCurrentTimeInt64(real_vfs, out); }

int lp_walbuf_register(void) {
  if (sqlite3_vfs_find(LP_WALBUF_VFS)) return SQLITE_OK;
  real_vfs = sqlite3_vfs_find(NULL);
  if (!real_vfs || real_vfs->iVersion < 2) return SQLITE_ERROR;
  wb_methods = (sqlite3_io_methods){
    3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_size, wb_lock, wb_unlock, wb_check,
    wb_fcntl, wb_sector, wb_devchar, wb_shm_map, wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch};
  wb_vfs = (sqlite3_vfs){
    2, (int)sizeof(wb_file) + real_vfs->szOsFile, real_vfs->mxPathname, NULL, LP_WALBUF_VFS, NULL,
    wb_open, wb_delete, wb_access, wb_full, wb_dlopen, wb_dlerror, wb_dlsym, wb_dlclose,
    wb_random, wb_sleep, wb_time, wb_lasterr, wb_time64, NULL, NULL, NULL};
  return sqlite3_vfs_register(&wb_vfs, 0);
}
