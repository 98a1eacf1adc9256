/* Looks for SECRET (argv[1]) in every other process it can see: ptrace,
 * process_vm_readv, /proc/PID/{environ,cmdline,mem}. Prints what worked;
 * exits 1 if anything could be read or attached. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>
static int contains(const char *buf, size_t n, const char *s) { return memmem(buf, n, s, strlen(s)) != NULL; }
int main(int argc, char **argv) {
  const char *secret = argc > 1 ? argv[1] : "HK-SECRET";
  int bad = 0, seen = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  static char buf[1 << 20];
  while ((e = readdir(d))) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    seen++;
    /* Our own ancestors share our uid and are fair game: only init (the launcher's copy) must resist. */
    if (pid == getppid()) continue;
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) printf("ptrace seize %d worked\n", pid), bad = 1, ptrace(PTRACE_DETACH, pid, 0, 0);
    char tiny[16];
    struct iovec l = {tiny, sizeof tiny}, r = {(void *)0x400000, sizeof tiny};
    if (process_vm_readv(pid, &l, 1, &r, 1, 0) > 0 || errno == EFAULT)
      printf("process_vm_readv %d allowed\n", pid), bad = 1;
    const char *files[] = {"environ", "cmdline", "mem", "maps", "auxv"};
    for (int i = 0; i < 5; i++) {
      char p[64];
      snprintf(p, sizeof p, "/proc/%d/%s", pid, files[i]);
      int fd = open(p, O_RDONLY);
      if (fd < 0) continue;
      ssize_t n = read(fd, buf, sizeof buf);
      close(fd);
      if (n > 0 && contains(buf, (size_t)n, secret)) printf("%s shows the secret\n", p), bad = 1;
      if (n > 0 && i == 2) printf("%s readable\n", p), bad = 1;
    }
  }
  printf("looked at %d processes\n", seen);
  return bad;
}
