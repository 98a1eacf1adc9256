/*
 * Monitor and sandbox side: error reporting and small helpers that are
 * async-signal-safe (no libc function here allocates or locks); the caller
 * side uses the helpers too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

size_t hk_strlen(const char *s) {
  size_t n = 0;
  while (s && s[n]) n++;
  return n;
}

/* dst = a + b + c, truncated to cap - 1 bytes and NUL-terminated. */
void hk_copy(char *dst, size_t cap, const char *a, const char *b, const char *c) {
  const char *parts[3] = {a, b, c};
  size_t n = 0;
  for (int i = 0; i < 3; i++)
    for (const char *p = parts[i]; p && *p && n + 1 < cap; p++) dst[n++] = *p;
  dst[n] = 0;
}

int hk_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, len -= (size_t)w;
  }
  return 0;
}

void hk_fail(struct hk_spec *s, uint32_t step, int err, const char *path) {
  struct hk_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.kind = HK_REC_ERROR, rec.step = step, rec.err = err;
  hk_copy(rec.path, sizeof(rec.path), path, NULL, NULL);
  /* A reader that is gone (a detached container's caller, after its start) must not turn this into SIGPIPE. */
  uint64_t pipe_sig = 1ull << (SIGPIPE - 1);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &pipe_sig, NULL, 8);
  if (s->report_fd >= 0) hk_write_all(s->report_fd, &rec, sizeof(rec));
  _exit(125);
}

/* Every signal to its default disposition, through raw syscalls: libc
 * wrappers refuse to touch the signals they reserve (32..34), which the caller
 * may have set to ignored and an exec keeps ignored. */
void hk_reset_dispositions(void) {
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
  } dfl = {SIG_DFL, 0, NULL, 0};
  for (int sig = 1; sig <= 64; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
}

/* Every signal to its default and none blocked. */
void hk_reset_signals(void) {
  hk_reset_dispositions();
  uint64_t none = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
}

int hk_write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  int rc = hk_write_all(fd, text, hk_strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

const char *hk_decimal(long v, char buf[24]) {
  char *p = buf + 23;
  *p = 0;
  do *--p = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  return p;
}
