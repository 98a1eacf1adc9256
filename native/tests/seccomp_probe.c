/*
 * Test and benchmark program for seccomp (not part of the library). Each
 * mode makes one raw syscall and prints "ret=R errno=E", unless the filter
 * kills it first:
 *   seccomp_probe nr N [ARG...]   native syscall N with up to 6 arguments
 *   seccomp_probe i386 N [ARG...] syscall N through the i386 ABI (int $0x80)
 *   seccomp_probe x32 N [ARG...]  syscall N with the x32 bit set
 *   seccomp_probe loop COUNT      COUNT getppid calls, prints the nanoseconds taken
 *   seccomp_probe readloop COUNT  COUNT one-byte reads of /dev/zero, prints the nanoseconds taken
 * Arguments are numbers (strtoull base 0); "buf" passes a pointer to a byte buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char buf[4096];

static unsigned long arg(const char *s) {
  if (strcmp(s, "buf") == 0) return (unsigned long)buf;
  return strtoull(s, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s nr|i386|x32|loop N [ARG...]\n", argv[0]);
    return 2;
  }
  unsigned long a[6] = {0};
  for (int i = 3; i < argc && i < 9; i++) a[i - 3] = arg(argv[i]);
  long nr = (long)strtoull(argv[2], NULL, 0);
  long ret;
  if (strcmp(argv[1], "loop") == 0 || strcmp(argv[1], "readloop") == 0) {
    int reads = strcmp(argv[1], "readloop") == 0;
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (reads && fd < 0) return perror("/dev/zero"), 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (reads)
      for (long i = 0; i < nr; i++) syscall(SYS_read, fd, buf, 1);
    else
      for (long i = 0; i < nr; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    return 0;
  }
  errno = 0;
  if (strcmp(argv[1], "nr") == 0) {
    ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  } else if (strcmp(argv[1], "x32") == 0) {
    ret = syscall(nr | 0x40000000L, a[0], a[1], a[2], a[3], a[4], a[5]);
  } else if (strcmp(argv[1], "i386") == 0) {
#if defined(__x86_64__)
    long r = nr;
    __asm__ volatile("push %%rbx\n\tmov %[b], %%rbx\n\tint $0x80\n\tpop %%rbx"
                     : "+a"(r)
                     : [b] "r"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
                     : "memory");
    if (r < 0 && r > -4096) errno = (int)-r, ret = -1;
    else ret = r;
#else
    fprintf(stderr, "i386 ABI only on x86_64\n");
    return 2;
#endif
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  printf("ret=%ld errno=%d\n", ret, ret == -1 ? errno : 0);
  return 0;
}
