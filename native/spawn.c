/*
 * Parent side: the exported ABI. hk_spawn runs on the Deno thread (clone
 * must happen there, see design notes on PR_SET_PDEATHSIG); hk_wait may run
 * on a worker thread. Nothing here calls exit().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int32_t hk_abi_version(void) { return HK_ABI_VERSION; }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_error(uint8_t *err, uint32_t step, int errnum, const char *path) {
  int64_t slots[HK_R_SLOTS] = {0};
  slots[HK_R_STATE] = 3, slots[HK_R_STEP] = step, slots[HK_R_ERRNO] = errnum;
  memcpy(err, slots, sizeof(slots));
  hk_copy((char *)err + sizeof(slots), HK_REC_PATH_MAX, path, NULL, NULL);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = hk_write_all(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* Write the id maps of a freshly cloned child; returns the failing step or 0. */
static uint32_t write_maps(const struct hk_spec *s, pid_t pid, char *path, size_t cap) {
  if (!(s->ns_flags & CLONE_NEWUSER)) return 0;
  if (!(s->cred_flags & HK_CRED_SETGROUPS)) {
    snprintf(path, cap, "/proc/%d/setgroups", (int)pid);
    if (write_file(path, "deny") < 0 && errno != ENOENT) return HK_S_SETGROUPS;
  }
  if (s->uid_map) {
    snprintf(path, cap, "/proc/%d/uid_map", (int)pid);
    if (write_file(path, s->uid_map) < 0) return HK_S_UID_MAP;
  }
  if (s->gid_map) {
    snprintf(path, cap, "/proc/%d/gid_map", (int)pid);
    if (write_file(path, s->gid_map) < 0) return HK_S_GID_MAP;
  }
  return 0;
}

/* Where this process's argv and environment strings live (fields 48-51 of /proc/self/stat). */
static void launcher_strings(struct hk_spec *s) {
  static uintptr_t cached[4];
  static int done;
  if (!done) {
    char buf[4096];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0) close(fd);
    if (n > 0) {
      buf[n] = 0;
      char *p = strrchr(buf, ')');
      unsigned long long v[4];
      int field = 2;
      char *save = NULL;
      for (char *tok = p ? strtok_r(p + 1, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save))
        if (++field >= 48 && field <= 51) v[field - 48] = strtoull(tok, NULL, 10);
      if (field >= 51)
        for (int i = 0; i < 4; i++) cached[i] = (uintptr_t)v[i];
    }
    done = 1;
  }
  s->arg_start = cached[0], s->arg_end = cached[1], s->env_start = cached[2], s->env_end = cached[3];
}

static void reap(int pidfd) {
  siginfo_t info;
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL) < 0 && errno == EINTR) {
  }
}

/* After the child is gone: copy the error it reported, if any, into err. Returns 1 when there was one. */
static int child_error(int report_fd, uint8_t *err) {
  struct hk_record rec;
  if (read(report_fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec) || rec.kind != HK_REC_ERROR) return 0;
  rec.path[HK_REC_PATH_MAX - 1] = 0;
  put_error(err, rec.step, rec.err, rec.path);
  return 1;
}

int32_t hk_spawn(const uint8_t *spec, size_t len, int64_t *out, uint8_t *err) {
  struct hk_spec s;
  const char *why = NULL;
  int report[2] = {-1, -1}, sync[2] = {-1, -1}, pidfd = -1;
  char path[64];

  if (hk_spec_decode(spec, len, &s, &why) < 0) {
    put_error(err, HK_S_SPEC, EINVAL, why);
    return -1;
  }
  if (pipe2(report, O_CLOEXEC) < 0 || pipe2(sync, O_CLOEXEC) < 0) {
    put_error(err, HK_S_PIPE, errno, "pipe2");
    goto fail;
  }
  s.report_fd = report[1], s.sync_fd = sync[0];
  launcher_strings(&s);
  int64_t start = now_ns();

  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = (uint64_t)s.ns_flags | CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) hk_child_main(&s); /* child side from here on; never returns */
  if (pid < 0) {
    int e = errno;
    put_error(err, HK_S_CLONE, e,
              e == EPERM || e == ENOSPC || e == EUSERS
                  ? "user namespaces may be disabled: see sysctl kernel.unprivileged_userns_clone and "
                    "user.max_user_namespaces"
                  : "clone3");
    goto fail;
  }
  close(report[1]), close(sync[0]);
  report[1] = sync[0] = -1;

  uint32_t step = write_maps(&s, (pid_t)pid, path, sizeof(path));
  if (step) {
    int e = errno;
    reap(pidfd);
    /* A child that died first (say its prctl failed) is why: its report names the step. */
    if (!child_error(report[0], err)) put_error(err, step, e, path);
    close(pidfd);
    goto fail;
  }
  if (s.flags & HK_F_HOLD) {
    /* The caller releases the child later (hk_release) or aborts it (hk_close). */
    hk_spec_free(&s);
    out[0] = pid, out[1] = pidfd, out[2] = report[0], out[3] = start, out[4] = sync[1];
    return 0;
  }
  /* One byte releases the child; closing the pipe alone would mean "abort". */
  if (hk_write_all(sync[1], "g", 1) < 0) {
    int e = errno;
    reap(pidfd);
    close(pidfd);
    if (!child_error(report[0], err)) put_error(err, HK_S_SYNC, e, "sync pipe");
    goto fail;
  }
  close(sync[1]);
  hk_spec_free(&s);
  out[0] = pid, out[1] = pidfd, out[2] = report[0], out[3] = start;
  return 0;

fail:
  for (int i = 0; i < 2; i++) {
    if (report[i] >= 0) close(report[i]);
    if (sync[i] >= 0) close(sync[i]);
  }
  hk_spec_free(&s);
  return -1;
}

int32_t hk_wait(int32_t pidfd, int32_t report_fd, int64_t timeout_ms, int64_t start_ns, uint8_t *result) {
  int64_t slots[HK_R_SLOTS] = {0};
  struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
  int64_t deadline = timeout_ms >= 0 ? now_ns() + timeout_ms * 1000000 : 0;
  for (;;) {
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      int64_t left = deadline - now_ns();
      wait_ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
    }
    int r = poll(&pfd, 1, wait_ms);
    if (r > 0) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (r == 0 && deadline && now_ns() >= deadline) {
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      slots[HK_R_TIMED_OUT] = 1;
      break;
    }
  }
  siginfo_t info;
  struct rusage ru;
  memset(&info, 0, sizeof(info));
  memset(&ru, 0, sizeof(ru));
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &ru) < 0 && errno == EINTR) {
  }
  slots[HK_R_REAL_NS] = now_ns() - start_ns;
  slots[HK_R_UTIME_US] = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
  slots[HK_R_STIME_US] = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  slots[HK_R_MAXRSS_KB] = ru.ru_maxrss;

  /* Every process of the sandbox is gone now, so the pipe is at end of file. */
  struct hk_record rec, error = {0}, exit_rec = {0};
  for (;;) {
    ssize_t n = read(report_fd, &rec, sizeof(rec));
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof(rec)) break;
    if (rec.kind == HK_REC_ERROR && !error.kind) error = rec;
    if (rec.kind == HK_REC_EXIT) exit_rec = rec;
  }
  close(report_fd);
  memset(result, 0, HK_RESULT_SIZE);
  if (error.kind) {
    slots[HK_R_STATE] = 3, slots[HK_R_STEP] = error.step, slots[HK_R_ERRNO] = error.err;
    error.path[HK_REC_PATH_MAX - 1] = 0;
    hk_copy((char *)result + sizeof(slots), HK_REC_PATH_MAX, error.path, NULL, NULL);
  } else if (exit_rec.kind) {
    int st = exit_rec.status;
    slots[HK_R_STATE] = WIFSIGNALED(st) ? 2 : 1;
    slots[HK_R_CODE] = WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st);
    slots[HK_R_UTIME_US] = exit_rec.utime_us, slots[HK_R_STIME_US] = exit_rec.stime_us;
    slots[HK_R_MAXRSS_KB] = exit_rec.maxrss_kb;
  } else if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
    /* init itself was killed (walltime, caller's kill, parent-side signal) */
    slots[HK_R_STATE] = 2, slots[HK_R_CODE] = info.si_status;
  } else {
    slots[HK_R_STATE] = 4, slots[HK_R_CODE] = info.si_status;
  }
  memcpy(result, slots, sizeof(slots));
  return 0;
}

int32_t hk_release(int32_t hold_fd) {
  int rc = hk_write_all(hold_fd, "g", 1) < 0 ? -errno : 0;
  close(hold_fd);
  return rc;
}

int32_t hk_kill(int32_t pidfd, int32_t sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int32_t hk_pipe(int32_t *fds) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  fds[0] = p[0], fds[1] = p[1];
  return 0;
}

int32_t hk_close(int32_t fd) { return close(fd) < 0 ? -errno : 0; }

int64_t hk_read(int32_t fd, uint8_t *buf, size_t len) {
  for (;;) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? -errno : n;
  }
}

int64_t hk_write(int32_t fd, const uint8_t *buf, size_t len) {
  for (;;) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? -errno : n;
  }
}

int32_t hk_open_null(void) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int32_t hk_strerror(int32_t errnum, uint8_t *buf, size_t len) {
  const char *name = strerrorname_np(errnum);
  char text[256];
  const char *desc = strerror_r(errnum, text, sizeof(text));
  snprintf((char *)buf, len, "%s\t%s", name ? name : "", desc ? desc : "");
  return 0;
}
