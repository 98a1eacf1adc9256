/* Lists every open fd above 2 with what it points to; exits with their count. */
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
int main(void) {
  int n = 0;
  for (int fd = 3; fd < 65536; fd++) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    char p[64], t[512];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(p, t, sizeof t - 1);
    t[k > 0 ? k : 0] = 0;
    printf("fd %d -> %s\n", fd, t);
    n++;
  }
  return n;
}
