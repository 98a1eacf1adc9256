/*
 * Caller side: the image hk_spawn execs. The bytes are the ones this library
 * carries (init_image.S), copied once per process into a sealed memfd, so what
 * is executed is exactly what was loaded: no file another user could swap.
 * Where the kernel refuses executable memfds (vm.memfd_noexec = 2), the copy
 * goes to an unnamed O_TMPFILE in a directory that only the caller can write,
 * checked on the opened directory fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

extern const uint8_t hk_init_image[], hk_init_image_end[];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int image_fd = -ENOENT; /* < 0: not prepared (yet) */
static int image_kind;
static char image_why[512];

static int write_image(int fd) {
  return hk_write_all(fd, hk_init_image, (size_t)(hk_init_image_end - hk_init_image));
}

static int sealed_memfd(void) {
  int fd = memfd_create("hakoniwa-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create("hakoniwa-init", MFD_CLOEXEC | MFD_ALLOW_SEALING); /* < 6.3 */
  if (fd < 0) return -errno;
  if (write_image(fd) < 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_EXEC | F_SEAL_SEAL) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* An unnamed file in dir, which must be ours and writable by nobody else; a read-only fd of it. */
static int tmpfile_in(const char *dir) {
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -errno;
  struct stat st;
  if (fstat(dfd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
    close(dfd);
    return -EPERM;
  }
  int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0500);
  close(dfd);
  if (fd < 0) return -errno;
  if (write_image(fd) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  /* exec refuses a file open for writing (ETXTBSY): keep only a read-only fd of it. */
  char self[64];
  snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
  int ro = open(self, O_RDONLY | O_CLOEXEC);
  int e = errno;
  close(fd);
  return ro < 0 ? -e : ro;
}

/* Does the kernel run it? A memfd may be made but refused at exec (noexec mounts, LSMs). */
static int runs(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_size == hk_init_image_end - hk_init_image &&
         faccessat(fd, "", X_OK, AT_EMPTY_PATH) == 0;
}

/* Once per process, under the lock: image_fd becomes the image's fd or -errno. */
static void prepare(const char *dirs) {
  if (image_fd >= 0) return;
  int fd = sealed_memfd();
  if (fd >= 0 && runs(fd)) {
    image_fd = fd, image_kind = 1;
    snprintf(image_why, sizeof(image_why), "a sealed memfd");
    return;
  }
  if (fd >= 0) close(fd);
  size_t n = (size_t)snprintf(image_why, sizeof(image_why), "executable memfds are refused (%s)",
                              strerror(fd < 0 ? -fd : EACCES));
  image_fd = -EACCES;
  for (const char *d = dirs; d && *d;) {
    const char *end = strchr(d, ':');
    size_t dl = end ? (size_t)(end - d) : strlen(d);
    char dir[4096];
    if (dl && dl < sizeof(dir)) {
      memcpy(dir, d, dl), dir[dl] = 0;
      int t = tmpfile_in(dir);
      if (t >= 0 && runs(t)) {
        image_fd = t, image_kind = 2;
        hk_copy(image_why, sizeof(image_why), "an unnamed file in ", dir, " (executable memfds are refused)");
        return;
      }
      if (t >= 0) close(t);
      hk_copy(image_why + n, sizeof(image_why) - n, "; ", dir, ": ");
      n = hk_strlen(image_why);
      hk_copy(image_why + n, sizeof(image_why) - n,
              t == -EPERM ? "not the caller's own directory" : strerror(t < 0 ? -t : EACCES), NULL, NULL);
      n = hk_strlen(image_why);
    }
    d = end ? end + 1 : NULL;
  }
}

int32_t hk_init_prepare(const char *dirs, uint8_t *why, size_t len) {
  pthread_mutex_lock(&lock);
  prepare(dirs);
  int rc = image_fd >= 0 ? image_kind : image_fd;
  if (why && len) hk_copy((char *)why, len, image_why, NULL, NULL);
  pthread_mutex_unlock(&lock);
  return rc;
}

int hk_init_image_fd(void) {
  pthread_mutex_lock(&lock);
  prepare(NULL);
  int fd = image_fd;
  pthread_mutex_unlock(&lock);
  return fd;
}
