/*
 * Caller side: the host files the CLI and the library read (a policy, its includes, a template's file, a 1.x
 * config, a seccomp profile, a rootdir's passwd and group) and write (the report, a completion script), opened so
 * that a path cannot lead them where the caller did not mean:
 *
 * - A path is resolved one component at a time from an fd of the directory before it, never by name twice. A
 *   symbolic link on the way is followed only when it belongs to the caller or to root (the kernel's
 *   fs.protected_symlinks rule, which not every machine turns on): another user's link is refused.
 * - A file to read is opened once, non-blocking (a FIFO cannot hang the caller), and must be a regular file.
 * - A file to write is never reached through a link (its last component), must be a regular file or a character
 *   device (/dev/null), and every directory on the way must belong to the caller or root and be writable by nobody
 *   else, unless it is sticky (/tmp) and what is in it is the caller's: nobody else can swap what is written, or
 *   the directory it is in, for something of theirs.
 * - A rootdir's own files are resolved inside the rootdir (RESOLVE_IN_ROOT): its links cannot reach the host's.
 *
 * Failures return -errno and, where plain words help, say why in `why` (naming the part of the path at fault).
 * These functions run in the Deno process, on its JS thread; they may allocate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

#define MAX_LINKS 40

struct why {
  char *buf;
  size_t len;
};

static int refuse(struct why *w, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct why *w, int err, const char *fmt, ...) {
  if (w->buf && w->len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->buf, w->len, fmt, ap);
    va_end(ap);
  }
  return -err;
}

/* A file type in words, for "is not a regular file (a FIFO)". */
static const char *kind(mode_t m) {
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISCHR(m)) return "a character device";
  return S_ISDIR(m) ? "a directory" : "an unknown kind of file";
}

/* Whether a user other than the caller can add, remove or rename entries of a directory with this mode. */
static int others_write(const struct stat *st) {
  return (st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != getegid());
}

/* A directory a file may be written beneath: the caller's or root's, and writable by nobody else but sticky. */
static int check_dir(struct why *w, const struct stat *st, const char *shown) {
  uid_t me = geteuid();
  const char *name = shown[0] ? shown : "/";
  if (st->st_uid != me && st->st_uid != 0)
    return refuse(w, EPERM, "%s belongs to uid %u, not to you or root: not writing beneath it", name,
                  (unsigned)st->st_uid);
  if (others_write(st) && !(st->st_mode & S_ISVTX)) {
    if (st->st_mode & S_IWOTH)
      return refuse(w, EPERM, "%s can be written by every user (mode %04o, not sticky): not writing beneath it",
                    name, (unsigned)(st->st_mode & 07777));
    return refuse(w, EPERM, "%s can be written by group %u (mode %04o): not writing beneath it", name,
                  (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
  }
  return 0;
}

/* Appends /name to shown (the path as resolved so far, for messages); ".." drops the last name. */
static void show(char *shown, size_t cap, const char *name) {
  size_t n = strlen(shown);
  if (!strcmp(name, "..")) {
    char *slash = strrchr(shown, '/');
    if (slash) *slash = 0;
    return;
  }
  snprintf(shown + n, cap - n, "/%s", name);
}

/*
 * Where a path leads: an O_PATH fd of the directory holding its last component (dir), the component (name) and
 * the directory's stat. With HK_OPEN_READ a link at the last component is followed too (as on the way, when it is
 * the caller's or root's); otherwise the caller looks at it.
 */
struct walk {
  int dir;
  char name[NAME_MAX + 1];
  struct stat dirst;
  char shown[PATH_MAX];
};

static int walk(const char *path, uint32_t flags, struct walk *out, struct why *w) {
  int write = (flags & HK_OPEN_WRITE) != 0;
  uid_t me = geteuid();
  size_t cap = strlen(path) + 1;
  char *rest = malloc(cap);
  if (!rest) return -ENOMEM;
  memcpy(rest, path, cap);
  char *p = rest;
  int links = 0, rc = 0;
  out->shown[0] = 0;
  int dir = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    rc = -errno;
    goto done;
  }
  if (path[0] != '/') snprintf(out->shown, sizeof(out->shown), ".");
  for (int checked = 0;;) {
    struct stat st;
    if (write && !checked) {
      if (fstat(dir, &st) < 0) {
        rc = -errno;
        goto done;
      }
      if ((rc = check_dir(w, &st, out->shown)) < 0) goto done;
    }
    checked = 1;
    while (*p == '/') p++;
    if (!*p) {
      rc = refuse(w, EISDIR, "is a directory");
      goto done;
    }
    size_t n = strcspn(p, "/");
    if (n > NAME_MAX) {
      rc = -ENAMETOOLONG;
      goto done;
    }
    char name[NAME_MAX + 1];
    memcpy(name, p, n);
    name[n] = 0;
    char *next = p + n;
    while (*next == '/') next++;
    int last = !*next;
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
      if (last) {
        rc = refuse(w, EISDIR, "is a directory");
        goto done;
      }
      if (!strcmp(name, "..")) {
        int up = openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0) {
          rc = -errno;
          goto done;
        }
        close(dir);
        dir = up;
        show(out->shown, sizeof(out->shown), name);
        checked = 0;
      }
      p = next;
      continue;
    }
    int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !last && (flags & HK_OPEN_MKDIRS)) {
      if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        goto done;
      }
      fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0 && last && errno == ENOENT) {
      /* A missing last component is the caller's to judge (a file to create, a file to fall back from). */
      break;
    }
    if (fd < 0) {
      rc = -errno;
      show(out->shown, sizeof(out->shown), name);
      goto done;
    }
    if (fstat(fd, &st) < 0) {
      rc = -errno;
      close(fd);
      goto done;
    }
    if (S_ISLNK(st.st_mode) && (!last || (flags & HK_OPEN_READ))) {
      char target[PATH_MAX];
      show(out->shown, sizeof(out->shown), name);
      if (st.st_uid != me && st.st_uid != 0) {
        close(fd);
        rc = refuse(w, EPERM, "%s is a symbolic link of uid %u, not yours or root's: not following it", out->shown,
                    (unsigned)st.st_uid);
        goto done;
      }
      ssize_t len = readlinkat(fd, "", target, sizeof(target) - 1);
      close(fd);
      if (len <= 0 || ++links > MAX_LINKS) {
        rc = len < 0 ? -errno : -ELOOP;
        goto done;
      }
      target[len] = 0;
      /* The rest of the path is now the link's target followed by what came after the link. */
      size_t more = strlen(next);
      char *joined = malloc((size_t)len + more + 2);
      if (!joined) {
        rc = -ENOMEM;
        goto done;
      }
      snprintf(joined, (size_t)len + more + 2, "%s/%s", target, next);
      free(rest);
      rest = p = joined;
      /* The shown path stands for the directory the link is in, where a relative target starts. */
      char *slash = strrchr(out->shown, '/');
      if (slash) *slash = 0;
      if (target[0] == '/') {
        close(dir);
        if ((dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
          rc = -errno;
          goto done;
        }
        out->shown[0] = 0;
        checked = 0;
      }
      continue;
    }
    if (last) {
      close(fd);
      break;
    }
    show(out->shown, sizeof(out->shown), name);
    if (!S_ISDIR(st.st_mode)) {
      close(fd);
      rc = refuse(w, ENOTDIR, "%s is not a directory", out->shown);
      goto done;
    }
    close(dir);
    dir = fd;
    checked = 0;
    p = next;
  }
  /* p points at the last component. */
  {
    size_t n = strcspn(p, "/");
    memcpy(out->name, p, n);
    out->name[n] = 0;
  }
  if (fstat(dir, &out->dirst) < 0) {
    rc = -errno;
    goto done;
  }
  out->dir = dir;
  dir = -1;
done:
  if (dir >= 0) close(dir);
  free(rest);
  return rc;
}

static void fill_info(int64_t *info, const struct stat *st, const struct stat *dirst) {
  if (!info) return;
  info[HK_O_MODE] = st->st_mode, info[HK_O_UID] = st->st_uid, info[HK_O_GID] = st->st_gid;
  info[HK_O_SIZE] = st->st_size;
  info[HK_O_DIR_MODE] = dirst->st_mode, info[HK_O_DIR_UID] = dirst->st_uid, info[HK_O_DIR_GID] = dirst->st_gid;
}

/* Opens name in dir (no link followed) with flags, and checks it is still the inode seen as st. */
static int reopen(int dir, const char *name, int flags, const struct stat *st, struct why *w) {
  struct stat again;
  int fd = openat(dir, name, flags | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (fstat(fd, &again) < 0 || again.st_dev != st->st_dev || again.st_ino != st->st_ino) {
    close(fd);
    return refuse(w, EAGAIN, "changed while it was being opened");
  }
  return fd;
}

/* The last component of a file to read: a regular file, opened non-blocking. */
static int open_read(int dir, const char *name, const struct stat *dirst, int64_t *info, struct why *w) {
  struct stat st;
  int p = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (p < 0) return -errno;
  int rc = fstat(p, &st) < 0 ? -errno : 0;
  close(p);
  if (rc < 0) return rc;
  if (S_ISLNK(st.st_mode)) return refuse(w, ELOOP, "is a symbolic link: not following it");
  if (S_ISDIR(st.st_mode)) return -EISDIR;
  if (!S_ISREG(st.st_mode)) return refuse(w, EINVAL, "is not a regular file (%s)", kind(st.st_mode));
  int fd = reopen(dir, name, O_RDONLY | O_NONBLOCK, &st, w);
  if (fd >= 0) fill_info(info, &st, dirst);
  return fd;
}

/* Resolves root (a directory, its links followed as on any way) and then rel inside it, as the sandbox would. */
static int open_in_root(const char *root, const char *rel, int64_t *info, struct why *w) {
  struct walk rw;
  int rc = walk(root, HK_OPEN_READ, &rw, w);
  if (rc < 0) return rc;
  int rootfd = openat(rw.dir, rw.name, O_PATH | O_DIRECTORY | O_CLOEXEC);
  rc = rootfd < 0 ? -errno : 0;
  close(rw.dir);
  if (rc < 0) return rc;
  /* The directory of rel inside root: its links resolve inside root, never to the host's files. */
  char parent[PATH_MAX];
  const char *slash = strrchr(rel, '/');
  snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - rel) : 1, slash ? rel : ".");
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int dir = (int)syscall(SYS_openat2, rootfd, parent[0] ? parent : "/", &how, sizeof(how));
  rc = dir < 0 ? -errno : 0;
  close(rootfd);
  if (rc < 0) return rc;
  struct stat dirst;
  if (fstat(dir, &dirst) < 0) rc = -errno;
  else rc = open_read(dir, slash ? slash + 1 : rel, &dirst, info, w);
  close(dir);
  return rc;
}

int32_t hk_open_file(const char *path, const char *root, uint32_t flags, int64_t *info, uint8_t *why, size_t len) {
  struct why w = {(char *)why, len};
  if (why && len) why[0] = 0;
  if (!(flags & (HK_OPEN_READ | HK_OPEN_WRITE)) || ((flags & HK_OPEN_READ) && (flags & HK_OPEN_WRITE))) return -EINVAL;
  if (root && root[0]) return (flags & HK_OPEN_READ) ? open_in_root(root, path, info, &w) : -EINVAL;
  struct walk wk;
  int rc = walk(path, flags, &wk, &w);
  if (rc < 0) return rc;
  int fd = -ENOENT;
  if (flags & HK_OPEN_READ) {
    fd = open_read(wk.dir, wk.name, &wk.dirst, info, &w);
  } else {
    /* Tries again when what is at the name changes under it (a link removed, a file made meanwhile). */
    for (int attempt = 0; attempt < 4; attempt++) {
      struct stat st;
      int p = openat(wk.dir, wk.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (p < 0 && errno != ENOENT) {
        fd = -errno;
        break;
      }
      if (p < 0) {
        fd = openat(wk.dir, wk.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                    0644);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) {
          fd = -errno;
          break;
        }
        if (fstat(fd, &st) < 0) st.st_mode = S_IFREG;
        fill_info(info, &st, &wk.dirst);
        break;
      }
      int got = fstat(p, &st) < 0 ? -errno : 0;
      close(p);
      if (got < 0) {
        fd = got;
        break;
      }
      if (S_ISLNK(st.st_mode) && (flags & HK_OPEN_REPLACE_LINK)) {
        /* A link an earlier sandbox left in a directory it could write: removed, never followed. */
        if (unlinkat(wk.dir, wk.name, 0) < 0 && errno != ENOENT) {
          fd = -errno;
          break;
        }
        continue;
      }
      if (S_ISLNK(st.st_mode)) {
        fd = refuse(&w, ELOOP, "is a symbolic link: not following it (give the path it points to)");
        break;
      }
      if (S_ISDIR(st.st_mode)) {
        fd = -EISDIR;
        break;
      }
      if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
        fd = refuse(&w, EINVAL, "is not a regular file or a character device (%s)", kind(st.st_mode));
        break;
      }
      if (others_write(&wk.dirst) && st.st_uid != geteuid()) {
        fd = refuse(&w, EPERM, "belongs to uid %u in %s, which other users can write: not writing it",
                    (unsigned)st.st_uid, wk.shown[0] ? wk.shown : "/");
        break;
      }
      fd = reopen(wk.dir, wk.name, O_WRONLY | O_NONBLOCK, &st, &w);
      if (fd == -EAGAIN) continue;
      if (fd >= 0) fill_info(info, &st, &wk.dirst);
      break;
    }
    /* Written with blocking writes from here (a device may be slow; a regular file does not care). */
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  close(wk.dir);
  return fd;
}

int32_t hk_replace_file(const char *path, const uint8_t *data, size_t len, uint8_t *why, size_t why_len) {
  struct why w = {(char *)why, why_len};
  if (why && why_len) why[0] = 0;
  struct walk wk;
  int rc = walk(path, HK_OPEN_WRITE | HK_OPEN_MKDIRS, &wk, &w);
  if (rc < 0) return rc;
  struct stat st;
  int p = openat(wk.dir, wk.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (p >= 0) {
    rc = fstat(p, &st) < 0 ? -errno : 0;
    close(p);
    if (!rc && S_ISLNK(st.st_mode))
      rc = refuse(&w, ELOOP, "is a symbolic link: not replacing it (give the path it points to)");
    else if (!rc && S_ISDIR(st.st_mode)) rc = -EISDIR;
    else if (!rc && !S_ISREG(st.st_mode)) rc = refuse(&w, EINVAL, "is not a regular file (%s)", kind(st.st_mode));
    else if (!rc && others_write(&wk.dirst) && st.st_uid != geteuid())
      rc = refuse(&w, EPERM, "belongs to uid %u in %s, which other users can write: not replacing it",
                  (unsigned)st.st_uid, wk.shown[0] ? wk.shown : "/");
  } else if (errno != ENOENT) {
    rc = -errno;
  }
  /* A new file beside it (created exclusively: nothing there is followed), renamed onto the name. */
  char temp[NAME_MAX + 1];
  int fd = -1;
  for (int attempt = 0; !rc && fd < 0 && attempt < 8; attempt++) {
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r)) r = (uint32_t)getpid() * 2654435761u + (uint32_t)attempt;
    if (snprintf(temp, sizeof(temp), ".%s.%08x.tmp", wk.name, r) >= (int)sizeof(temp)) rc = -ENAMETOOLONG;
    else if ((fd = openat(wk.dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0 &&
             errno != EEXIST)
      rc = -errno;
  }
  if (!rc && fd < 0) rc = -EEXIST;
  if (!rc) {
    int err = hk_write_all(fd, data, len) < 0 ? errno : 0;
    if (close(fd) < 0 && !err) err = errno;
    if (!err && renameat(wk.dir, temp, wk.dir, wk.name) < 0) err = errno;
    if (err) {
      unlinkat(wk.dir, temp, 0);
      rc = -err;
    }
  }
  close(wk.dir);
  return rc;
}

int32_t hk_rewind(int32_t fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  if (!S_ISREG(st.st_mode)) return 0;
  if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) return -errno;
  return 0;
}
