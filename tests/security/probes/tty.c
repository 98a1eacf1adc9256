/* Tries to push keystrokes into a terminal: TIOCSTI and TIOCLINUX on fds 0-2
 * and /dev/tty, also with the high 32 bits of the request set. Prints each
 * attempt; exits 1 if any succeeded. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  int bad = 0, fds[4] = {0, 1, 2, open("/dev/tty", O_RDWR)};
  unsigned long reqs[4] = {TIOCSTI, TIOCSTI | 0xffffffff00000000UL, TIOCLINUX, TIOCLINUX | 0x100000000UL};
  char c = '#', lin[2] = {11, 0}; /* TIOCLINUX subcode 11: paste selection */
  for (int i = 0; i < 4; i++) {
    if (fds[i] < 0) continue;
    for (int j = 0; j < 4; j++) {
      long r = syscall(SYS_ioctl, fds[i], reqs[j], j < 2 ? &c : lin);
      fprintf(stderr, "fd %d req %lx -> %ld\n", fds[i], reqs[j], r);
      if (r == 0) bad = 1;
    }
  }
  printf("sid=%d pgid=%d tty=%s\n", (int)getsid(0), (int)getpgid(0), isatty(0) ? "yes" : "no");
  return bad;
}
