/*
 * Sandbox side: build the new root. Host sources are opened as detached mount
 * trees before anything covers the host's view (a read-only source the spec
 * makes mount points in, as an overlay of a new tmpfs over it); then a fresh
 * tmpfs (or the rootdir, or an overlay of a new tmpfs over a read-only
 * rootdir that lacks what the spec makes in it) is attached in this private
 * mount namespace, every operation is applied in spec order beneath it
 * without following symlinks, and the process pivots into it and detaches
 * the host root.
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
#include <sys/statfs.h>
#include <sys/statvfs.h> /* ST_RDONLY, the flag statfs's f_flags shares */
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

/* The decimal text of v in buf (no allocation); returns where it starts. */
static const char *decimal(char buf[24], uint64_t v) {
  int i = 23;
  buf[i] = 0;
  do buf[--i] = (char)('0' + v % 10), v /= 10;
  while (v);
  return buf + i;
}

/* A new filesystem (tmpfs, proc, devpts) as a detached mount with flags applied. */
static int new_fs(struct hk_spec *s, const char *type, const struct hk_mount *m, uint32_t step) {
  int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
  if (fs < 0) hk_fail(s, step, errno, m->dst);
  if (m->kind == HK_M_TMPFS) {
    char size[24], inodes[24];
    char mode[8] = {'0', (char)('0' + ((m->mode >> 9) & 7)), (char)('0' + ((m->mode >> 6) & 7)),
                    (char)('0' + ((m->mode >> 3) & 7)), (char)('0' + (m->mode & 7)), 0};
    if ((m->size && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", decimal(size, m->size), 0) < 0) ||
        (m->inodes && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "nr_inodes", decimal(inodes, m->inodes), 0) < 0) ||
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0)
      hk_fail(s, step, errno, m->dst);
  }
  /* A devpts of its own (not the host's ptys), whose ptmx anyone inside may open: the sandbox has no capability. */
  if (m->kind == HK_M_DEVPTS && (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "newinstance", NULL, 0) < 0 ||
                                 syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "ptmxmode", "0666", 0) < 0 ||
                                 syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0620", 0) < 0))
    hk_fail(s, step, errno, m->dst);
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
  static const uint32_t steps[] = {0,         HK_S_BIND,    HK_S_TMPFS,   HK_S_PROC,   HK_S_MKDIR,    HK_S_FILE,
                                   HK_S_SYMLINK, HK_S_REMOUNT, HK_S_DEVPTS, HK_S_MOUNT_FS, HK_S_MASK};
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
    if (m->flags & HK_MF_LAYER) break; /* kept: made read-only once everything is built in it */
    close(m->src_fd);
    m->src_fd = -1;
    break;
  case HK_M_TMPFS:
  case HK_M_PROC:
  case HK_M_DEVPTS:
    mnt = new_fs(s, m->kind == HK_M_TMPFS ? "tmpfs" : m->kind == HK_M_PROC ? "proc" : "devpts", m, step);
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

static int layer_over(struct hk_spec *s, const char *src, const char *at, uint32_t flags, uint32_t step);

/* Open every host source while the host's tree is still in view. */
static void open_sources(struct hk_spec *s) {
  for (size_t i = 0; i < s->n_mounts; i++) {
    struct hk_mount *m = &s->mounts[i];
    if (m->kind != HK_M_BIND && m->kind != HK_M_MASK) continue;
    if (m->kind == HK_M_BIND && (m->flags & HK_MF_LAYER)) {
      /* The plan makes mount points in it: a tmpfs layered over the source, made read-only once built. */
      if ((m->flags & HK_MF_OPTIONAL) && faccessat(AT_FDCWD, m->src, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        continue;
      m->src_fd = layer_over(s, m->src, m->dst, m->flags, HK_S_BIND_LAYER);
      continue;
    }
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
 * In the upper layer of a layer over the host directory lower (at sandbox
 * path prefix), the directories on the way to every mount point, directory,
 * file or link the spec makes beneath prefix, where lower has a directory or
 * nothing (mode and, when this namespace maps it, owner as lower's): the
 * build then makes them in directories of the upper layer, which overlayfs
 * lets the sandbox write, rather than in copies of the host's that belong to
 * an owner it may not map (a root-owned /usr/share refuses a rootless
 * sandbox even in an overlay). A file or a link of lower on the way stops
 * it: the build refuses that path as it would without the layer.
 */
static void prefill_upper(struct hk_spec *s, int lower, int upper, const char *prefix, uint32_t step) {
  size_t plen = hk_strlen(prefix);
  for (size_t i = 0; i < s->n_mounts; i++) {
    const char *rel = s->mounts[i].dst;
    if (s->mounts[i].kind == HK_M_REBIND) continue; /* makes nothing */
    if (plen == 1) rel += 1;
    else if (strncmp(rel, prefix, plen) == 0 && rel[plen] == '/') rel += plen + 1;
    else continue;
    int lo = fcntl(lower, F_DUPFD_CLOEXEC, 0), up = fcntl(upper, F_DUPFD_CLOEXEC, 0);
    if (lo < 0 || up < 0) hk_fail(s, step, errno, s->mounts[i].dst);
    for (;;) {
      char name[256];
      size_t n = 0;
      while (rel[n] && rel[n] != '/') n++;
      if (!rel[n]) break; /* the last component: the build makes it */
      if (n >= sizeof(name)) hk_fail(s, step, ENAMETOOLONG, s->mounts[i].dst);
      memcpy(name, rel, n);
      name[n] = 0;
      struct stat st;
      int have = lo >= 0 && fstatat(lo, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
      if (have && !S_ISDIR(st.st_mode)) break;
      if (mkdirat(up, name, have ? st.st_mode & 07777 : 0755) < 0 && errno != EEXIST)
        hk_fail(s, step, errno, s->mounts[i].dst);
      int next_up = openat(up, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next_up < 0) hk_fail(s, step, errno, s->mounts[i].dst);
      if (have) (void)fchownat(next_up, "", st.st_uid, st.st_gid, AT_EMPTY_PATH); /* EINVAL: unmapped, ours */
      int next_lo = have ? openat(lo, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
      close(up);
      if (lo >= 0) close(lo);
      up = next_up, lo = next_lo;
      rel += n + 1;
    }
    close(up);
    if (lo >= 0) close(lo);
  }
}

/*
 * HK_MF_LAYER: an overlay whose lower layer is the host directory src (the
 * rootdir, or a read-only bind's source, at sandbox path at) and whose upper
 * layer is a new tmpfs (prefilled: prefill_upper), as a detached mount
 * (nosuid, nodev, as flags say; read-only only once built). Overlayfs never
 * writes its lower layer, so nothing the build makes reaches the host's
 * directory. The layers are named by fds
 * (/proc/self/fd/N: the host's /proc is still in view), the directory opened
 * without following a symlink, like every host source. The upper layer's
 * root takes the directory's mode and, when this user namespace maps it, its
 * owner (an unmapped owner cannot be set: EINVAL, and the root stays the
 * sandbox's root's, read-only all the same). Overlayfs shows one filesystem:
 * mounts beneath the directory on the host are not in the layer.
 */
static int layer_over(struct hk_spec *s, const char *src, const char *at, uint32_t flags, uint32_t step) {
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int lower = (int)syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof(how));
  struct stat st;
  if (lower < 0 || fstat(lower, &st) < 0) hk_fail(s, step, errno, src);
  /* The upper layer holds only what the build makes (read-only after it), bounded like every tmpfs: in bytes, and in
   * inodes as src/plan/plan.ts's tmpfsInodes bounds one (one per 4 KiB page of its size). */
  struct hk_mount m = {.kind = HK_M_TMPFS,
                       .flags = HK_MF_NOSUID | HK_MF_NODEV,
                       .mode = 0700,
                       .size = 64u << 20,
                       .inodes = (64u << 20) / 4096,
                       .dst = src};
  int tmp = new_fs(s, "tmpfs", &m, step);
  if (mkdirat(tmp, "upper", st.st_mode & 07777) < 0 || mkdirat(tmp, "work", 0700) < 0)
    hk_fail(s, step, errno, "upper layer");
  int upper = openat(tmp, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int work = openat(tmp, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (upper < 0 || work < 0) hk_fail(s, step, errno, "upper layer");
  if (fchownat(upper, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0 && errno != EINVAL)
    hk_fail(s, step, errno, "upper layer");
  prefill_upper(s, lower, upper, at, step);
  char buf[32];
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", fd_path(buf, lower), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", fd_path(buf, upper), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", fd_path(buf, work), 0) < 0 ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    hk_fail(s, step, errno, src);
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, mount_attrs(flags & ~HK_MF_RDONLY));
  if (mnt < 0) hk_fail(s, step, errno, src);
  close(fs), close(work), close(upper), close(tmp), close(lower);
  return mnt;
}

/* Attach the new root (tmpfs, rootdir, or a layer over the rootdir) at a staging directory; returns an fd of it. */
static int attach_root(struct hk_spec *s) {
  int src = -1;
  if (s->root_src[0] && (s->root_flags & HK_MF_LAYER)) {
    src = layer_over(s, s->root_src, "/", s->root_flags, HK_S_ROOT_LAYER);
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

/*
 * The command's stdio devices through a read-only mount. A device on fd 0..2 (the caller's /dev/null, the
 * sandbox's own pty slave) is a host inode: through /proc/self/fd/N, its owner or uid 0 inside could chmod, chown
 * or touch the host's node. Each is reopened by its path, found again as the same inode, on a read-only mount:
 * there such a change fails with EROFS, while reads, writes and ioctls work as before (a read-only mount refuses
 * writing only to regular files, directories and links). The mount is the new root's own when the root has the
 * node at the same path on a read-only mount (devfs's /dev/null, the pty's node the terminal code binds at
 * /dev/pts/N, so ttyname(3) still names it), else a read-only clone of the host's mount of it. A device that
 * cannot be opened again by its path (no permission, a node since removed or replaced, /dev/tty without a
 * terminal) is left as it is: the sandbox's uid is not its owner then either. Runs with the new root built, while
 * the host's tree and /proc are still in view.
 */
static void reopen_stdio_devices(struct hk_spec *s, int root) {
  for (int fd = 0; fd < 3; fd++) {
    struct stat st, again;
    struct statfs fs;
    char link[32], path[4096];
    if (fstat(fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) continue;
    ssize_t n = readlink(fd_path(link, fd), path, sizeof(path) - 1);
    if (n <= 0 || path[0] != '/') continue;
    path[n] = 0;
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    /* The root's own node, when it is this one on a read-only mount. */
    int node = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
    if (node >= 0 && (fstat(node, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino ||
                      syscall(SYS_fstatfs, node, &fs) < 0 || !(fs.f_flags & ST_RDONLY))) {
      close(node);
      node = -1;
    }
    if (node < 0) {
      /* Else the host's node through a read-only clone of its mount. */
      how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
      int host = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
      if (host < 0) continue;
      if (fstat(host, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
        close(host);
        continue;
      }
      node = sys_open_tree(host, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
      close(host);
      if (node < 0 || set_attrs(node, HK_MF_RDONLY | HK_MF_NOSUID, 0) < 0) hk_fail(s, HK_S_STDIO, errno, path);
    }
    int flags = fcntl(fd, F_GETFL);
    int reopened = open(fd_path(link, node), (flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC);
    close(node);
    if (reopened < 0) continue;
    if (fstat(reopened, &again) < 0 || again.st_rdev != st.st_rdev || dup3(reopened, fd, 0) < 0)
      hk_fail(s, HK_S_STDIO, errno, path);
    close(reopened);
  }
}

void hk_build_root(struct hk_spec *s) {
  /* Nothing we mount may propagate back to the host. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) hk_fail(s, HK_S_MOUNT_PRIVATE, errno, "/");
  open_sources(s);
  int root = attach_root(s);
  for (size_t i = 0; i < s->n_mounts; i++) apply(s, root, &s->mounts[i]);
  for (size_t i = 0; i < s->n_mounts; i++) {
    struct hk_mount *m = &s->mounts[i];
    if (m->kind != HK_M_BIND || !(m->flags & HK_MF_LAYER) || m->src_fd < 0) continue;
    if ((m->flags & HK_MF_RDONLY) && set_attrs(m->src_fd, HK_MF_RDONLY, 0) < 0) hk_fail(s, HK_S_REMOUNT, errno, m->dst);
    close(m->src_fd);
    m->src_fd = -1;
  }
  reopen_stdio_devices(s, root);
  if ((s->flags & HK_F_ROOT_RDONLY) && set_attrs(root, HK_MF_RDONLY, 0) < 0) hk_fail(s, HK_S_REMOUNT, errno, "/");
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only ours. */
  if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) hk_fail(s, HK_S_PIVOT_ROOT, errno, "/");
  if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) hk_fail(s, HK_S_PIVOT_ROOT, errno, "old root");
  close(root);
}
