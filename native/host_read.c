/*
 * Caller side: small reads of the host's state for plan building in TypeScript, where Deno's permission model
 * refuses them to anything but --allow-all (/proc/self/mountinfo, /proc/self/cgroup, cgroupfs files): what the
 * library needs is read here, so its documented permissions stay true.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

int64_t hk_read_text(const char *path, uint8_t *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    int e = S_ISREG(st.st_mode) ? errno : EINVAL;
    close(fd);
    return -e;
  }
  size_t got = 0;
  ssize_t n;
  while (got < cap && (n = read(fd, buf + got, cap - got)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    got += (size_t)n;
  }
  close(fd);
  return (int64_t)got;
}

int64_t hk_owner(const char *path) {
  struct stat st;
  return lstat(path, &st) < 0 ? -errno : (int64_t)st.st_uid;
}
