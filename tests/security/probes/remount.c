/* Tries to make PATH (argv[1]) writable: remount, mount_setattr, a fresh
 * bind over it, and the same again from a nested user namespace where it
 * holds every capability. Then tries to create argv[1]/pwned. Exit 1 if the
 * file could be created. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
static void attempts(const char *path, const char *who) {
  int r = mount(NULL, path, NULL, MS_REMOUNT | MS_BIND, NULL);
  printf("%s remount rw: %s\n", who, r ? strerror(errno) : "ok");
  struct mount_attr a = {.attr_clr = MOUNT_ATTR_RDONLY};
  r = (int)syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a);
  printf("%s mount_setattr clear rdonly: %s\n", who, r ? strerror(errno) : "ok");
  int t = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | AT_RECURSIVE);
  if (t >= 0) {
    r = (int)syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a);
    printf("%s open_tree+setattr: %s\n", who, r ? strerror(errno) : "ok");
    if (!r) {
      r = (int)syscall(SYS_move_mount, t, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);
      printf("%s move_mount over: %s\n", who, r ? strerror(errno) : "ok");
    }
  } else printf("%s open_tree: %s\n", who, strerror(errno));
}
static int try_write(const char *path) {
  char p[4096];
  snprintf(p, sizeof p, "%s/pwned", path);
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  printf("create %s: %s\n", p, fd < 0 ? strerror(errno) : "ok");
  if (fd >= 0) return close(fd), unlink(p), 1;
  return 0;
}
int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/usr";
  attempts(path, "payload");
  int bad = try_write(path);
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
    attempts(path, "nested-userns");
    bad |= try_write(path);
  } else printf("nested user namespace: %s\n", strerror(errno));
  return bad;
}
