/* Forks until the kernel says no; the children sleep. Prints how many it made. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  int n = 0;
  for (; n < 100000; n++) {
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    if (p < 0) { printf("fork failed after %d: %s\n", n, strerror(errno)); fflush(stdout); return 0; }
  }
  printf("made %d processes\n", n);
  return 1;
}
