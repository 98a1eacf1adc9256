/*
 * Either side (no allocation, no lock): remove a cgroup directory and every cgroup beneath it, deepest first. Used by
 * the monitor for a sandbox's own cgroup (cgroup.c), by the OCI runtime's front end and by the library for a
 * container's (native/oci_front.c, src/cgroup/named.ts). A cgroup whose last task is still being released is busy
 * for a moment: each rmdir is tried for up to 100 ms.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static int remove_tree(const char *dir, int depth) {
  if (depth > 32) return -ELOOP;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
      if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      hk_copy(path, sizeof(path), dir, "/", e->d_name);
      remove_tree(path, depth + 1);
    }
    closedir(d);
  }
  int rc;
  for (int i = 0; (rc = rmdir(dir)) < 0 && errno == EBUSY && i < 100; i++)
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  return rc < 0 && errno != ENOENT ? -errno : 0;
}

int32_t hk_cgroup_remove_tree(const char *dir) { return remove_tree(dir, 0); }
