/* "plant NAME": add a user key NAME to the caller's user keyring and print
 * "ring=SERIAL key=SERIAL". "unplant KEY": unlink it again.
 * "reach RING KEY": from inside a sandbox, try to reach them by serial
 * (link, read, describe, search) and look for them in /proc/keys; prints
 * one line per attempt and "proc-keys: N lines, M ours". */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) { printf("%s: %ld errno=%d\n", what, r, r < 0 ? errno : 0); }

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "plant")) {
    long ring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 1);
    long key = syscall(SYS_add_key, "user", argv[2], "s3cr3t", 6, KEY_SPEC_USER_KEYRING);
    if (ring < 0 || key < 0) return perror("plant"), 3;
    printf("ring=%ld key=%ld\n", ring, key);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "unplant")) {
    return syscall(SYS_keyctl, KEYCTL_UNLINK, atol(argv[2]), KEY_SPEC_USER_KEYRING) < 0;
  }
  if (argc != 4 || strcmp(argv[1], "reach")) return 2;
  long ring = atol(argv[2]), key = atol(argv[3]);
  char buf[256];
  show("link ring", syscall(SYS_keyctl, KEYCTL_LINK, ring, KEY_SPEC_SESSION_KEYRING));
  show("read key", syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof(buf)));
  show("describe key", syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, buf, sizeof(buf)));
  show("describe ring", syscall(SYS_keyctl, KEYCTL_DESCRIBE, ring, buf, sizeof(buf)));
  FILE *f = fopen("/proc/keys", "r");
  int lines = 0, ours = 0;
  char line[512], ringhex[32], keyhex[32];
  snprintf(ringhex, sizeof(ringhex), "%08lx ", ring);
  snprintf(keyhex, sizeof(keyhex), "%08lx ", key);
  while (f && fgets(line, sizeof(line), f)) {
    lines++;
    if (!strncmp(line, ringhex, strlen(ringhex)) || !strncmp(line, keyhex, strlen(keyhex))) ours++;
  }
  printf("proc-keys: %d lines, %d ours (%s)\n", lines, ours, f ? "opened" : strerror(errno));
  return 0;
}
