/* faultfs.c — a disk that fails on demand, for the store's fault-injection test
 * (tests/e2e/36-store-faults.test.mjs). Loaded with LD_PRELOAD into a server; while the file named
 * by LEADPATH_FAULT_FILE exists, every write and sync of a database file (a name ending in .db,
 * .db-wal, .db-journal or -search) fails: with ENOSPC when the file says "full", else with EIO.
 * Removing the file heals the disk. Only a test tool: it is never linked into leadpath. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int fault_now(int fd) {
  const char *ctl = getenv("LEADPATH_FAULT_FILE");
  if (!ctl) return 0;
  char path[64], target[4096];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = 0;
  size_t len = (size_t)n;
  static const char *const ends[] = {".db", ".db-wal", ".db-journal", "-search", "-search-wal", "-search-journal"};
  int ours = 0;
  for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
    size_t el = strlen(ends[i]);
    if (len >= el && !memcmp(target + len - el, ends[i], el)) ours = 1;
  }
  if (!ours) return 0;
  static ssize_t (*real_read)(int, void *, size_t);
  static int (*real_open)(const char *, int, ...);
  if (!real_read) real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
  if (!real_open) real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
  int c = real_open(ctl, O_RDONLY);
  if (c < 0) return 0;
  char word[16] = "";
  ssize_t r = real_read(c, word, sizeof word - 1);
  close(c);
  if (r > 0) word[r] = 0;
  return !strncmp(word, "full", 4) ? ENOSPC : EIO;
}

#define FAIL_IF(fd)                  \
  do {                               \
    int e_ = fault_now(fd);          \
    if (e_) { errno = e_; return -1; } \
  } while (0)

ssize_t write(int fd, const void *buf, size_t n) {
  static ssize_t (*real)(int, const void *, size_t);
  if (!real) real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  FAIL_IF(fd);
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  static ssize_t (*real)(int, const void *, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  FAIL_IF(fd);
  return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, __off64_t off) {
  static ssize_t (*real)(int, const void *, size_t, __off64_t);
  if (!real) real = (ssize_t (*)(int, const void *, size_t, __off64_t))dlsym(RTLD_NEXT, "pwrite64");
  FAIL_IF(fd);
  return real(fd, buf, n, off);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  FAIL_IF(fd);
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  FAIL_IF(fd);
  return real(fd);
}
