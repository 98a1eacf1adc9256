/*
 * Parent side, for seccomp: an anonymous in-memory file (libseccomp exports
 * a compiled filter to a file descriptor; the caller reads it back from
 * here), and the kernel log, whose audit records name the syscalls a filter
 * killed or logged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakoniwa.h"

int32_t hk_memfd(void) {
  int fd = memfd_create("hakoniwa-seccomp", MFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int64_t hk_pread(int32_t fd, uint8_t *buf, size_t len, int64_t offset) {
  for (;;) {
    ssize_t n = pread(fd, buf, len, (off_t)offset);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? -errno : n;
  }
}

int32_t hk_kmsg_open(void) {
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (lseek(fd, 0, SEEK_END) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int64_t hk_kmsg_read(int32_t fd, uint8_t *buf, size_t len) {
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? -errno : n;
  }
}
