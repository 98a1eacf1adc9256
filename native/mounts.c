/*
 * Sandbox side: build the new root. Host sources are opened as detached mount
 * trees before anything covers the host's view; then a fresh tmpfs (or the
 * rootdir, or an overlay of a new tmpfs over a read-only rootdir that lacks
 * what the spec makes in it) is attached in this private mount namespace,
 * every operation is applied in spec order beneath it without following
 * symlinks, and the process pivots into it and detaches the host root.
 * Every function here runs on the sandbox side: no allocation, failures
 * through hk_fail with the step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

/* Where the new root is attached in our own mount namespace; the host never sees it. */
static const char *const staging_dirs[] = {"/tmp", "/mnt", "/run", "/"};

static int sys_open_tree(int dfd, const char *path, unsigned flags) {
  return (int)syscall(SYS_open_tree, dfd, path, flags);
}
static int sys_move_mount(int from, int to) {
  return (int)syscall(SYS_move_mount, from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}
static int set_attrs(int fd, uint32_t flags, int recursive) {
  struct mount_attr attr;
  memset(&attr, 0, sizeof(attr));
  if (flags & HK_MF_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & HK_MF_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & HK_MF_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & HK_MF_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
  if (!attr.attr_set) return 0;
  return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                      sizeof(attr));
}

/* Open one path component beneath dirfd, never following a symlink. */
static int open_beneath(int dirfd, const char *name, uint64_t flags) {
  struct open_how how;
  memset(&how, 0, sizeof(how));
  /* No O_NOFOLLOW: with O_PATH it would hand back the symlink itself; RESOLVE_NO_SYMLINKS refuses it (ELOOP). */
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

/*
 * Walk dst's parent directories beneath root, creating missing ones (0755).
 * Returns an O_PATH fd of the parent and leaves the last component in *last.
 */
static int open_parent(struct hk_spec *s, int root, const char *dst, char *last, uint32_t step) {
  int dir = fcntl(root, F_DUPFD_CLOEXEC, 0);
  const char *p = dst + 1;
  for (;;) {
    size_t n = 0;
    while (p[n] && p[n] != '/') n++;
    if (n >= 256) hk_fail(s, step, ENAMETOOLONG, dst);
    memcpy(last, p, n);
    last[n] = 0;
    if (!p[n]) return dir;
    int next = open_beneath(dir, last, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(dir, last, 0755) < 0 && errno != EEXIST) hk_fail(s, HK_S_MKDIR, errno, dst);
      next = open_beneath(dir, last, O_PATH | O_DIRECTORY);
    }
    if (next < 0) hk_fail(s, HK_S_MKDIR, errno, dst);
    close(dir);
    dir = next;
    p += n + 1;
  }
}

/* Create (or reuse) the mount point named last in dir: a directory or a file. */
static int mount_point(struct hk_spec *s, int dir, const char *last, int is_dir, const char *dst) {
  int fd = open_beneath(dir, last, O_PATH | (is_dir ? O_DIRECTORY : 0));
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0) hk_fail(s, HK_S_MKDIR, errno, dst);
    return fd;
  }
  if (is_dir) {
    if (mkdirat(dir, last, 0755) < 0 && errno != EEXIST) hk_fail(s, HK_S_MKDIR, errno, dst);
  } else {
    int f = openat(dir, last, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) hk_fail(s, HK_S_MKDIR, errno, dst);
    if (f >= 0) close(f);
  }
  fd = open_beneath(dir, last, O_PATH | (is_dir ? O_DIRECTORY : 0));
  if (fd < 0) hk_fail(s, HK_S_MKDIR, errno, dst);
  return fd;
}

/* The MOUNT_ATTR_* of HK_MF_* flags. */
static unsigned mount_attrs(uint32_t flags) {
  unsigned attrs = 0;
  if (flags & HK_MF_RDONLY) attrs |= MOUNT_ATTR_RDONLY;
  if (flags & HK_MF_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (flags & HK_MF_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (flags & HK_MF_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  return attrs;
}

/* A new filesystem (tmpfs, proc) as a detached mount with flags applied. */
static int new_fs(struct hk_spec *s, const char *type, const struct hk_mount *m, uint32_t step) {
  int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
  if (fs < 0) hk_fail(s, step, errno, m->dst);
  if (m->kind == HK_M_TMPFS) {
    char num[32];
    int i = (int)sizeof(num) - 1;
    num[i] = 0;
    uint64_t v = m->size;
    do num[--i] = (char)('0' + v % 10), v /= 10; while (v);
    char mode[8] = {'0', (char)('0' + ((m->mode >> 9) & 7)), (char)('0' + ((m->mode >> 6) & 7)),
                    (char)('0' + ((m->mode >> 3) & 7)), (char)('0' + (m->mode & 7)), 0};
    if ((m->size && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", num + i, 0) < 0) ||
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0)
      hk_fail(s, step, errno, m->dst);
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) hk_fail(s, step, errno, m->dst);
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, mount_attrs(m->flags));
  if (mnt < 0) hk_fail(s, step, errno, m->dst);
  close(fs);
  return mnt;
}

/*
 * HK_M_FS: a new filesystem of type m->src configured with m->data's options ("key=value" strings and bare flags,
 * comma-separated, copied to the stack: no allocation), as a detached mount with m->flags applied.
 */
static int new_fs_with_options(struct hk_spec *s, const struct hk_mount *m) {
  int fs = (int)syscall(SYS_fsopen, m->src, FSOPEN_CLOEXEC);
  if (fs < 0) hk_fail(s, HK_S_MOUNT_FS, errno, m->dst);
  char opt[512];
  const char *p = m->data_len ? (const char *)m->data : "";
  while (*p) {
    size_t n = 0;
    while (p[n] && p[n] != ',') n++;
    if (n >= sizeof(opt)) hk_fail(s, HK_S_MOUNT_FS, E2BIG, m->dst);
    memcpy(opt, p, n);
    opt[n] = 0;
    p += n + (p[n] == ',');
    if (!n) continue;
    char *eq = strchr(opt, '=');
    long rc;
    if (eq) *eq = 0, rc = syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
    else rc = syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
    if (rc < 0) hk_fail(s, HK_S_MOUNT_FS, errno, m->dst);
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) hk_fail(s, HK_S_MOUNT_FS, errno, m->dst);
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, mount_attrs(m->flags));
  if (mnt < 0) hk_fail(s, HK_S_MOUNT_FS, errno, m->dst);
  close(fs);
  return mnt;
}

/* HK_M_MASK: cover dst if it exists (never following a symlink): a directory with an empty read-only tmpfs, anything
 * else with the /dev/null opened before the pivot (m->src_fd). A missing dst is left alone. */
static void mask(struct hk_spec *s, int dir, const char *last, struct hk_mount *m) {
  int target = open_beneath(dir, last, O_PATH);
  if (target < 0 && (errno == ENOENT || errno == ENOTDIR)) return;
  struct stat st;
  if (target < 0 || fstat(target, &st) < 0) hk_fail(s, HK_S_MASK, errno, m->dst);
  int mnt = m->src_fd;
  if (S_ISDIR(st.st_mode)) {
    struct hk_mount t = {.kind = HK_M_TMPFS, .flags = HK_MF_RDONLY | HK_MF_NOSUID | HK_MF_NODEV | HK_MF_NOEXEC,
                         .mode = 0755, .size = 4096, .dst = m->dst};
    mnt = new_fs(s, "tmpfs", &t, HK_S_MASK);
  }
  if (sys_move_mount(mnt, target) < 0) hk_fail(s, HK_S_MASK, errno, m->dst);
  if (mnt != m->src_fd) close(mnt);
  close(target);
}

static void write_file(struct hk_spec *s, int dir, const char *last, const struct hk_mount *m) {
  if (m->flags & HK_MF_EXISTING) {
    int fd = openat(dir, last, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || hk_write_all(fd, m->data, m->data_len) < 0) hk_fail(s, HK_S_FILE, errno, m->dst);
    close(fd);
    return;
  }
  int fd = openat(dir, last, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, m->mode);
  if (fd < 0 || fchmod(fd, m->mode) < 0 || hk_write_all(fd, m->data, m->data_len) < 0)
    hk_fail(s, HK_S_FILE, errno, m->dst);
  close(fd);
}

static void apply(struct hk_spec *s, int root, struct hk_mount *m) {
  char last[256];
  static const uint32_t steps[] = {0,         HK_S_BIND,    HK_S_TMPFS,   HK_S_PROC,     HK_S_MKDIR,
                                   HK_S_FILE, HK_S_SYMLINK, HK_S_REMOUNT, HK_S_MOUNT_FS, HK_S_MASK};
  uint32_t step = steps[m->kind];
  if ((m->kind == HK_M_BIND || m->kind == HK_M_MASK) && m->src_fd < 0) return; /* optional source, missing */
  int dir = open_parent(s, root, m->dst, last, step);
  int target = -1, mnt = -1;
  struct stat st;
  switch (m->kind) {
  case HK_M_BIND:
    if (fstat(m->src_fd, &st) < 0) hk_fail(s, step, errno, m->src);
    target = mount_point(s, dir, last, S_ISDIR(st.st_mode), m->dst);
    if (sys_move_mount(m->src_fd, target) < 0) hk_fail(s, step, errno, m->dst);
    close(m->src_fd);
    m->src_fd = -1;
    break;
  case HK_M_TMPFS:
  case HK_M_PROC:
    mnt = new_fs(s, m->kind == HK_M_TMPFS ? "tmpfs" : "proc", m, step);
    target = mount_point(s, dir, last, 1, m->dst);
    if (sys_move_mount(mnt, target) < 0) hk_fail(s, step, errno, m->dst);
    break;
  case HK_M_FS:
    mnt = new_fs_with_options(s, m);
    target = mount_point(s, dir, last, 1, m->dst);
    if (sys_move_mount(mnt, target) < 0) hk_fail(s, step, errno, m->dst);
    break;
  case HK_M_MASK:
    mask(s, dir, last, m);
    close(m->src_fd);
    m->src_fd = -1;
    break;
  case HK_M_DIR:
    if (mkdirat(dir, last, m->mode) < 0 && errno != EEXIST) hk_fail(s, step, errno, m->dst);
    target = open_beneath(dir, last, O_PATH | O_DIRECTORY);
    if (target < 0) hk_fail(s, step, errno, m->dst);
    break;
  case HK_M_FILE: write_file(s, dir, last, m); break;
  case HK_M_SYMLINK:
    if (symlinkat(m->src, dir, last) < 0) hk_fail(s, step, errno, m->dst);
    break;
  case HK_M_REBIND:
    mnt = sys_open_tree(dir, last, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
    if (mnt < 0 && errno == ENOENT && (m->flags & HK_MF_OPTIONAL)) break;
    if (mnt < 0 || set_attrs(mnt, m->flags, 1) < 0) hk_fail(s, step, errno, m->dst);
    target = open_beneath(dir, last, O_PATH);
    if (target < 0 || sys_move_mount(mnt, target) < 0) hk_fail(s, step, errno, m->dst);
    break;
  }
  if (mnt >= 0) close(mnt);
  if (target >= 0) close(target);
  close(dir);
}

/*
 * Clone the host tree at src. The plan names sources by their resolved
 * path, so no component may be a symlink: one swapped in since the plan
 * was built (say in a directory another user can write) fails with ELOOP
 * instead of redirecting the bind somewhere else.
 */
static int open_source(const char *src) {
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_CLOEXEC; /* O_NOFOLLOW would return a trailing symlink itself */
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof(how));
  if (fd < 0) return -1;
  int tree = sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  int saved = errno;
  close(fd);
  errno = saved;
  return tree;
}

/* Open every host source while the host's tree is still in view. */
static void open_sources(struct hk_spec *s) {
  for (size_t i = 0; i < s->n_mounts; i++) {
    struct hk_mount *m = &s->mounts[i];
    if (m->kind != HK_M_BIND && m->kind != HK_M_MASK) continue;
    m->src_fd = open_source(m->src);
    if (m->src_fd < 0 && errno == ENOENT && (m->flags & HK_MF_OPTIONAL)) continue;
    if (m->src_fd < 0) hk_fail(s, HK_S_OPEN_SOURCE, errno, m->src);
    if (set_attrs(m->src_fd, m->flags, 1) < 0) hk_fail(s, HK_S_BIND, errno, m->src);
  }
}

/* "/proc/self/fd/N" of fd into buf: how an overlay's layer option names an fd (no allocation). */
static const char *fd_path(char buf[32], int fd) {
  char num[12];
  int i = (int)sizeof(num) - 1;
  num[i] = 0;
  do num[--i] = (char)('0' + fd % 10), fd /= 10; while (fd > 0 && i > 0);
  hk_copy(buf, 32, "/proc/self/fd/", num + i, NULL);
  return buf;
}

/*
 * HK_MF_LAYER: an overlay whose lower layer is the rootdir and whose upper
 * layer is a new tmpfs, as a detached mount (nosuid, nodev, as root_flags
 * say; read-only only once built). Overlayfs never writes its lower layer,
 * so nothing the build makes reaches the host's directory. The layers are
 * named by fds (/proc/self/fd/N: the host's /proc is still in view), the
 * rootdir opened without following a symlink, like every host source. The
 * upper layer's root takes the rootdir's mode and, when this user namespace
 * maps it, its owner (an unmapped owner cannot be set: EINVAL, and the root
 * stays the sandbox's root's, read-only all the same). Overlayfs shows one
 * filesystem: mounts beneath the rootdir on the host are not in the layer.
 */
static int layered_root(struct hk_spec *s) {
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int lower = (int)syscall(SYS_openat2, AT_FDCWD, s->root_src, &how, sizeof(how));
  struct stat st;
  if (lower < 0 || fstat(lower, &st) < 0) hk_fail(s, HK_S_ROOT_LAYER, errno, s->root_src);
  /* The upper layer holds only what the build makes (the root is read-only after it), bounded like every tmpfs. */
  struct hk_mount m = {
      .kind = HK_M_TMPFS, .flags = HK_MF_NOSUID | HK_MF_NODEV, .mode = 0700, .size = 64u << 20, .dst = s->root_src};
  int tmp = new_fs(s, "tmpfs", &m, HK_S_ROOT_LAYER);
  if (mkdirat(tmp, "upper", st.st_mode & 07777) < 0 || mkdirat(tmp, "work", 0700) < 0)
    hk_fail(s, HK_S_ROOT_LAYER, errno, "upper layer");
  int upper = openat(tmp, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int work = openat(tmp, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (upper < 0 || work < 0) hk_fail(s, HK_S_ROOT_LAYER, errno, "upper layer");
  if (fchownat(upper, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0 && errno != EINVAL)
    hk_fail(s, HK_S_ROOT_LAYER, errno, "upper layer");
  char buf[32];
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", fd_path(buf, lower), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", fd_path(buf, upper), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", fd_path(buf, work), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    hk_fail(s, HK_S_ROOT_LAYER, errno, s->root_src);
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, mount_attrs(s->root_flags & ~HK_MF_RDONLY));
  if (mnt < 0) hk_fail(s, HK_S_ROOT_LAYER, errno, s->root_src);
  close(fs), close(work), close(upper), close(tmp), close(lower);
  return mnt;
}

/* Attach the new root (tmpfs, rootdir, or a layer over the rootdir) at a staging directory; returns an fd of it. */
static int attach_root(struct hk_spec *s) {
  int src = -1;
  if (s->root_src[0] && (s->root_flags & HK_MF_LAYER)) {
    src = layered_root(s);
  } else if (s->root_src[0]) {
    src = open_source(s->root_src);
    if (src < 0 || set_attrs(src, s->root_flags, 1) < 0) hk_fail(s, HK_S_ROOT, errno, s->root_src);
  } else {
    struct hk_mount m = {.kind = HK_M_TMPFS, .flags = HK_MF_NOSUID | HK_MF_NODEV, .mode = 0755, .dst = "/"};
    src = new_fs(s, "tmpfs", &m, HK_S_ROOT);
  }
  for (size_t i = 0; i < sizeof(staging_dirs) / sizeof(staging_dirs[0]); i++) {
    if (syscall(SYS_move_mount, src, "", AT_FDCWD, staging_dirs[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) continue;
    close(src);
    int root = open(staging_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) hk_fail(s, HK_S_ROOT, errno, staging_dirs[i]);
    return root;
  }
  hk_fail(s, HK_S_ROOT, errno, "no staging directory (/tmp, /mnt, /run) to attach the root at");
}

void hk_build_root(struct hk_spec *s) {
  /* Nothing we mount may propagate back to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) hk_fail(s, HK_S_MOUNT_PRIVATE, errno, "/");
  open_sources(s);
  int root = attach_root(s);
  for (size_t i = 0; i < s->n_mounts; i++) apply(s, root, &s->mounts[i]);
  if ((s->flags & HK_F_ROOT_RDONLY) && set_attrs(root, HK_MF_RDONLY, 0) < 0) hk_fail(s, HK_S_REMOUNT, errno, "/");
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only ours. */
  if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) hk_fail(s, HK_S_PIVOT_ROOT, errno, "/");
  if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) hk_fail(s, HK_S_PIVOT_ROOT, errno, "old root");
  close(root);
}
