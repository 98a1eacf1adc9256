/*
 * Front end side: `create` through the decider (src/oci/decider.ts, the message kinds in hakoniwa.h): a warm Deno
 * decides and gives the spec; this process spawns it (hk_spawn, linked in from spawn.c), so that the container's init
 * is the caller's child, and waits until the command is ready, as oci.ts's create would. No part of it runs in a
 * sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "oci_decide.h"

#define MESSAGE_MAX (1u << 20)

static int read_exact(int fd, void *buf, size_t len) {
  for (size_t got = 0; got < len;) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

static int send_message(int fd, uint8_t kind, const void *body, size_t len) {
  uint32_t n = (uint32_t)(1 + len);
  return hk_write_all(fd, &n, 4) < 0 || hk_write_all(fd, &kind, 1) < 0 || (len && hk_write_all(fd, body, len) < 0)
             ? -1
             : 0;
}

/* One message into *buf (malloc'd, the caller frees); its kind, or -1. */
static int recv_message(int fd, uint8_t **buf, size_t *len) {
  uint32_t n;
  if (read_exact(fd, &n, 4) < 0 || n < 1 || n > MESSAGE_MAX) return -1;
  uint8_t *m = malloc(n);
  if (!m || read_exact(fd, m, n) < 0) return free(m), -1;
  *buf = m, *len = n;
  return m[0];
}

/* A short name for the decider of this root, runtime build, user and set of namespaces: the decider sees the host as
 * the caller does only when they share the user, mount, pid and uts namespaces. */
static int socket_path(char *out, size_t cap, const char *root, const char *script) {
  struct stat st;
  if (stat(script, &st) < 0) return -1;
  uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
  MIX(st.st_ino), MIX(st.st_mtim.tv_sec), MIX(st.st_mtim.tv_nsec), MIX(st.st_size), MIX(HK_ABI_VERSION), MIX(getuid());
  static const char *const ns[] = {"/proc/self/ns/user", "/proc/self/ns/mnt", "/proc/self/ns/pid",
                                   "/proc/self/ns/uts"};
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
    if (stat(ns[i], &st) < 0) return -1;
    MIX(st.st_ino), MIX(st.st_dev);
  }
#undef MIX
  int n = snprintf(out, cap, "%s/decider-%016llx.sock", root, (unsigned long long)h);
  return n > 0 && (size_t)n < cap && (size_t)n < sizeof(((struct sockaddr_un *)0)->sun_path) ? 0 : -1;
}

/* A connection to the decider at path; only to one of this user's: the decider decides what this process spawns,
 * so a socket another user put there (in a root directory others may write) is never trusted. */
static int connect_to(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t len = strlen(path); /* shorter than sun_path: socket_path checked */
  memcpy(a.sun_path, path, len < sizeof(a.sun_path) ? len : sizeof(a.sun_path) - 1);
  struct ucred peer;
  socklen_t peer_len = sizeof(peer);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) < 0 || peer.uid != geteuid()) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

/* The request: hello, working directory, /proc/self/cgroup, then argv, with --root first (the decider's own default
 * root comes from its environment, which is its first caller's). */
static int send_request(int fd, const char *root, char **args) {
  static char buf[MESSAGE_MAX - 1];
  size_t at = 0;
  char num[24];
  int n = snprintf(buf, sizeof(buf), "hakoniwa-oci-decide-%s", hk_decimal(HK_DECIDE_VERSION, num));
  at = (size_t)n + 1;
  if (!getcwd(buf + at, sizeof(buf) - at)) return -1;
  at += strlen(buf + at) + 1;
  int cg = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  ssize_t got = cg < 0 ? -1 : read(cg, buf + at, 65536);
  if (cg >= 0) close(cg);
  if (got < 0) return -1;
  at += (size_t)got;
  buf[at++] = 0;
  static const char flag[] = "--root";
  if (at + sizeof(flag) + strlen(root) + 1 > sizeof(buf)) return -1;
  memcpy(buf + at, flag, sizeof(flag)), at += sizeof(flag);
  memcpy(buf + at, root, strlen(root) + 1), at += strlen(root) + 1;
  for (char **a = args; *a; a++) {
    size_t l = strlen(*a) + 1;
    if (at + l > sizeof(buf)) return -1;
    memcpy(buf + at, *a, l);
    at += l;
  }
  return send_message(fd, HK_DECIDE_REQUEST, buf, at);
}

/* Spawns the spec and tells the decider how it went. */
static int spawn_and_report(int fd, const uint8_t *body, size_t len) {
  if (len < 5) return -1;
  int terminal = body[0];
  uint32_t console_len;
  memcpy(&console_len, body + 1, 4);
  if (5 + (size_t)console_len > len || console_len >= PATH_MAX) return -1;
  char console[PATH_MAX];
  memcpy(console, body + 5, console_len);
  console[console_len] = 0;
  /* The decoder points into the spec (a seccomp program among it): a copy of its own, aligned as malloc aligns. */
  size_t spec_len = len - 5 - console_len;
  uint8_t *spec = malloc(spec_len ? spec_len : 1);
  if (!spec) return -1;
  memcpy(spec, body + 5 + console_len, spec_len);

  int32_t pty[2] = {-1, -1};
  if (terminal) {
    int32_t rc = hk_pty_open(pty);
    if (rc < 0 || dup2(pty[1], HK_DECIDE_PTY_FD) < 0) {
      uint8_t err[HK_RESULT_SIZE] = {0};
      int64_t *slots = (int64_t *)err;
      slots[HK_R_STATE] = 3, slots[HK_R_STEP] = HK_S_PIPE, slots[HK_R_ERRNO] = rc < 0 ? -rc : errno;
      snprintf((char *)err + HK_R_SLOTS * 8, HK_REC_PATH_MAX, "a pseudo-terminal for the console socket");
      free(spec);
      return send_message(fd, HK_DECIDE_SPAWN_FAILED, err, sizeof(err));
    }
  }
  int64_t out[5] = {0};
  uint8_t err[HK_RESULT_SIZE] = {0};
  int rc;
  if (hk_spawn(spec, spec_len, out, err) != 0) {
    rc = send_message(fd, HK_DECIDE_SPAWN_FAILED, err, sizeof(err));
  } else {
    struct hk_record rec;
    int32_t init_pid = 0, ready = 0;
    for (;;) {
      ssize_t n = recv((int)out[2], &rec, sizeof(rec), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n != (ssize_t)sizeof(rec)) break;
      if (rec.kind == HK_REC_INIT) init_pid = rec.status;
      if (rec.kind == HK_REC_READY) ready = 1;
      if (rec.kind == HK_REC_READY || rec.kind == HK_REC_ERROR) break;
    }
    close((int)out[2]);
    hk_wait((int32_t)out[1]); /* detached, the monitor exits once it released the init */
    close((int)out[1]);
    if (!ready && rec.kind == HK_REC_ERROR) rc = send_message(fd, HK_DECIDE_RECORD, &rec, sizeof(rec));
    else if (!ready) rc = send_message(fd, HK_DECIDE_LOST, NULL, 0);
    else if (terminal && (rc = hk_send_fd(console, pty[0])) < 0) {
      int32_t e = -rc;
      rc = send_message(fd, HK_DECIDE_CONSOLE, &e, 4);
    } else {
      rc = send_message(fd, HK_DECIDE_READY, &init_pid, 4);
    }
  }
  if (terminal) close(pty[0]), close(pty[1]), close(HK_DECIDE_PTY_FD);
  free(spec);
  return rc;
}

int oci_decide_create(const char *root, const char *script, char **args, void (*start)(const char *socket),
                      char *path, size_t cap) {
  const char *off = getenv("HAKONIWA_OCI_DECIDER");
  if (off && !strcmp(off, "0")) return -1;
  uint8_t why[256];
  if (socket_path(path, cap, root, script) < 0) return -1;
  /* The init image: a sealed memfd, or this create runs in Deno (which knows the fallbacks). */
  if (hk_init_prepare("", why, sizeof(why)) != 1) return -1;
  int fd = connect_to(path);
  if (fd < 0) {
    start(path);
    return -1;
  }
  if (send_request(fd, root, args) < 0) {
    close(fd);
    return -1; /* nothing was decided yet */
  }
  for (;;) {
    uint8_t *m = NULL;
    size_t len = 0;
    int kind = recv_message(fd, &m, &len);
    if (kind == HK_DECIDE_DONE && len >= 2) {
      if (len > 2 && write(2, m + 2, len - 2) < 0) {
      }
      int code = m[1];
      free(m);
      close(fd);
      return code;
    }
    if (kind != HK_DECIDE_SPAWN || spawn_and_report(fd, m + 1, len - 1) < 0) {
      free(m);
      close(fd);
      dprintf(2, "hakoniwa-oci: the decider at %s went away during create (%s)\n", path,
              kind < 0 ? "no answer" : "a message out of turn");
      return 1;
    }
    free(m);
  }
}
