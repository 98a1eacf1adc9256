/* "host ARGV...": join a new session keyring holding a user key named
 * hk-secret, then exec ARGV. "inside": look for that key from the
 * sandbox; exit 1 when it is found. */
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
int main(int argc, char **argv) {
  if (argc > 2 && !strcmp(argv[1], "host")) {
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "hk-test") < 0) return perror("join"), 3;
    if (syscall(SYS_add_key, "user", "hk-secret", "s3cr3t", 6, KEY_SPEC_SESSION_KEYRING) < 0)
      return perror("add_key"), 3;
    execvp(argv[2], argv + 2);
    return perror("exec"), 3;
  }
  long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", "hk-secret", 0);
  printf("search session keyring: %ld (%s)\n", id, id < 0 ? strerror(errno) : "found");
  long rq = syscall(SYS_request_key, "user", "hk-secret", NULL, 0);
  printf("request_key: %ld (%s)\n", rq, rq < 0 ? strerror(errno) : "found");
  return id >= 0 || rq >= 0;
}
