/* Tries every way of giving a file in DIR (argv[1]) a set-uid or set-gid
 * mode: the chmod family, mknod, open/openat/creat with O_CREAT, and
 * (argv[2] = "i386") chmod and open through the i386 ABI. Prints one line
 * per attempt: "NAME ret=R errno=E". Raw syscalls, so libc picks no other
 * syscall than the one named. Build with -no-pie so that static buffers
 * lie below 4 GiB for the i386 ABI. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char path[256];

static void report(const char *name, long r) {
  printf("%s ret=%ld errno=%d\n", name, r, r < 0 ? errno : 0);
  fflush(stdout);
}

static void fresh(const char *dir, const char *name) {
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (fd >= 0) close(fd);
}

static long i386_call(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  if (r < 0 && r > -4096) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/out";
  if (argc > 2 && !strcmp(argv[2], "i386")) {
    fresh(dir, "i386-chmod");
    report("i386-chmod", i386_call(15, (long)path, 06755, 0));
    snprintf(path, sizeof(path), "%s/i386-open", dir);
    report("i386-open", i386_call(5, (long)path, O_WRONLY | O_CREAT, 06755));
    return 0;
  }
  fresh(dir, "chmod");
  report("chmod", syscall(SYS_chmod, path, 04755));
  fresh(dir, "chmod-sgid");
  report("chmod-sgid", syscall(SYS_chmod, path, 02755));
  fresh(dir, "fchmod");
  int fd = open(path, O_RDONLY);
  report("fchmod", syscall(SYS_fchmod, fd, 06755));
  close(fd);
  fresh(dir, "fchmodat");
  report("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, path, 06755));
  fresh(dir, "fchmodat2");
  report("fchmodat2", syscall(452, AT_FDCWD, path, 06755, 0));
  snprintf(path, sizeof(path), "%s/mknod", dir);
  report("mknod", syscall(SYS_mknod, path, S_IFREG | 06755, 0));
  snprintf(path, sizeof(path), "%s/mknodat", dir);
  report("mknodat", syscall(SYS_mknodat, AT_FDCWD, path, S_IFREG | 06755, 0));
  snprintf(path, sizeof(path), "%s/open", dir);
  report("open", syscall(SYS_open, path, O_WRONLY | O_CREAT, 06755));
  snprintf(path, sizeof(path), "%s/openat", dir);
  report("openat", syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL, 04755));
  snprintf(path, sizeof(path), "%s/creat", dir);
  report("creat", syscall(SYS_creat, path, 02755));
  report("tmpfile", syscall(SYS_openat, AT_FDCWD, dir, O_WRONLY | O_TMPFILE, 04755));
  report("openat2", syscall(437, AT_FDCWD, dir, NULL, 0));
  report("io_uring_setup", syscall(425, 1, NULL));
  /* Control: a plain mode still works. */
  fresh(dir, "plain");
  report("plain-chmod", syscall(SYS_chmod, path, 0700));
  return 0;
}
