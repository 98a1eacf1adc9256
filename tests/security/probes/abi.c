/* Makes a syscall through a foreign ABI: "i386" (int 0x80, getpid = 20)
 * or "x32" (x32 bit set, getpid = 39). Prints the raw result; if the
 * process survives and the call returned a pid, the filter let it through. */
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  long r;
  if (argc > 1 && !strcmp(argv[1], "x32")) {
    long nr = 0x40000000L | 39;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
  } else {
    long nr = 20;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr) : "memory");
  }
  printf("result %ld\n", r);
  return r > 0 ? 1 : 0;
}
