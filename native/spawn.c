/*
 * Caller side: the exported ABI. hk_spawn runs on the Deno thread: it vforks
 * and execs hakoniwa-init there (the init's PR_SET_PDEATHSIG follows the
 * thread that created it, and the JS thread lives as long as Deno); the
 * thread waits only until the exec. hk_held may run on a worker
 * thread. Nothing here calls exit().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* What the vforked child needs; it runs in our memory until it execs. */
struct spawn_args {
  int fds[HK_FD_FIRST_FREE]; /* what becomes fds 0..6 of the init program (-1: none) */
  int image_fd;
  char *const *argv;
  /* Written by the child when it failed: errno and HK_S_STDIO or HK_S_INIT. Volatile: the compiler must not
   * conclude that a store on the child's noreturn path cannot be seen after vfork_exec returns. */
  volatile int err, step;
};

/*
 * Caller side, but in the vforked child: it runs in our memory, below the
 * frame of hk_spawn, while the calling thread waits, with every signal
 * blocked. Only raw fd syscalls, then exec: nothing that allocates, locks or
 * touches state; never returns.
 */
static void spawn_child(struct spawn_args *a) __attribute__((noreturn, noinline));
static void spawn_child(struct spawn_args *a) {
  int moved[HK_FD_FIRST_FREE];
  static char *const envp[] = {NULL};
  a->step = HK_S_STDIO;
  /* First above every target, so that placing one never clobbers another's source. */
  for (int i = 0; i < HK_FD_FIRST_FREE; i++)
    if (a->fds[i] >= 0 && (moved[i] = (int)syscall(SYS_fcntl, a->fds[i], F_DUPFD_CLOEXEC, 16)) < 0) goto fail;
  /* The image's fd too: a caller with few fds open (the OCI front end) may have it below HK_FD_FIRST_FREE. */
  int image = (int)syscall(SYS_fcntl, a->image_fd, F_DUPFD_CLOEXEC, 16);
  if (image < 0) goto fail;
  for (int i = 0; i < HK_FD_FIRST_FREE; i++)
    if (a->fds[i] >= 0 && syscall(SYS_dup3, moved[i], i, 0) < 0) goto fail;
  /* Every other fd of ours closes at exec (the image fd too, once the kernel has it open). */
  if (syscall(SYS_close_range, HK_FD_FIRST_FREE, ~0U, CLOSE_RANGE_CLOEXEC) < 0) goto fail;
  a->step = HK_S_INIT;
  syscall(SYS_execveat, image, "", a->argv, envp, AT_EMPTY_PATH);
fail:
  a->err = errno ? errno : EINVAL;
  syscall(SYS_exit, 127);
  __builtin_unreachable();
}

/* vfork: no copy of our memory is ever made; the calling thread waits only until the exec. Its own
 * frame, so that nothing of hk_spawn's lives across vfork. Returns the pid or -errno. */
static pid_t vfork_exec(struct spawn_args *a) __attribute__((noinline));
static pid_t vfork_exec(struct spawn_args *a) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = vfork();
  if (pid == 0) spawn_child(a);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return pid < 0 ? -e : pid;
}

static int spec_memfd(const uint8_t *spec, size_t len) {
  int fd = memfd_create("hakoniwa-spec", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (hk_write_all(fd, spec, len) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int32_t hk_spawn(const uint8_t *spec, size_t len, int64_t *out, uint8_t *err) {
  struct hk_spec s;
  const char *why = NULL;
  int report[2] = {-1, -1}, hold[2] = {-1, -1}, spec_fd = -1, pidfd = -1;

  if (hk_spec_decode(spec, len, &s, &why) < 0) {
    put_error(err, HK_S_SPEC, EINVAL, why);
    return -1;
  }
  int image_fd = hk_init_image_fd();
  if (image_fd < 0) {
    put_error(err, HK_S_INIT, -image_fd, "the hakoniwa-init image (see hk_init_prepare)");
    goto fail;
  }
  if ((spec_fd = spec_memfd(spec, len)) < 0) {
    put_error(err, HK_S_PIPE, errno, "memfd_create");
    goto fail;
  }
  /* The report channel: one message per record, and credentials (the command's pid) translated for us. */
  int passcred = 1;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0 ||
      setsockopt(report[0], SOL_SOCKET, SO_PASSCRED, &passcred, sizeof(passcred)) < 0 ||
      ((s.flags & HK_F_HOLD) && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hold) < 0)) {
    put_error(err, HK_S_PIPE, errno, "socketpair");
    goto fail;
  }
  char ppid[24];
  snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
  char *const argv[] = {"hakoniwa-init", ppid, NULL};
  struct spawn_args a = {
      .fds = {s.stdio[0], s.stdio[1], s.stdio[2], report[1], spec_fd, hold[1], s.events_fd, -1},
      .image_fd = image_fd,
      .argv = argv,
      .err = 0,
      .step = 0,
  };
  int64_t start = now_ns();
  pid_t pid = vfork_exec(&a);
  if (pid < 0) {
    put_error(err, HK_S_INIT, -pid, "vfork");
    goto fail;
  }
  /* Our unreaped child: its pid cannot be reused before we wait for it. */
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    int e = errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    put_error(err, HK_S_INIT, e, "pidfd_open");
    goto fail;
  }
  if (a.err) {
    siginfo_t info;
    while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL) < 0 && errno == EINTR) {
    }
    close(pidfd);
    put_error(err, (uint32_t)a.step, a.err, a.step == HK_S_INIT ? "execveat of hakoniwa-init" : "stdio");
    goto fail;
  }
  close(report[1]), close(spec_fd);
  report[1] = spec_fd = -1;
  if (hold[1] >= 0) close(hold[1]);
  hk_spec_free(&s);
  out[0] = pid, out[1] = pidfd, out[2] = report[0], out[3] = start;
  if (s.flags & HK_F_HOLD) out[4] = hold[0];
  return 0;

fail:
  for (int i = 0; i < 2; i++) {
    if (report[i] >= 0) close(report[i]);
    if (hold[i] >= 0) close(hold[i]);
  }
  if (spec_fd >= 0) close(spec_fd);
  hk_spec_free(&s);
  return -1;
}

int64_t hk_held(int32_t hold_fd) {
  int32_t pid;
  size_t got = 0;
  while (got < sizeof(pid)) {
    ssize_t n = read(hold_fd, (char *)&pid + got, sizeof(pid) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return 0;
    got += (size_t)n;
  }
  return pid;
}

int32_t hk_reap(int32_t pidfd, int32_t report_fd, int64_t start_ns, uint8_t *result) {
  int64_t slots[HK_R_SLOTS] = {0};
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  /* Without the init's report no usage is known: the init program's own (a wait's rusage) would count its max
   * RSS as the caller's, which it was vforked from. The usage slots then stay 0 and HK_R_USAGE says so. */
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL) < 0 && errno == EINTR) {
  }
  slots[HK_R_REAL_NS] = now_ns() - start_ns;

  /* The report channel reaches end of file once the sandbox's init is gone too. */
  struct hk_record rec, error = {0}, exit_rec = {0}, cgroup_rec = {0};
  int64_t init_pid = 0, command_pid = 0;
  for (;;) {
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct iovec iov = {.iov_base = &rec, .iov_len = sizeof(rec)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control)};
    ssize_t n = recvmsg(report_fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof(rec)) break;
    if (rec.kind == HK_REC_ERROR && !error.kind) error = rec;
    if (rec.kind == HK_REC_EXIT) exit_rec = rec;
    if (rec.kind == HK_REC_INIT) init_pid = rec.status;
    if (rec.kind == HK_REC_CGROUP) cgroup_rec = rec;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); rec.kind == HK_REC_COMMAND && c; c = CMSG_NXTHDR(&msg, c)) {
      struct ucred cred;
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDENTIALS) continue;
      memcpy(&cred, CMSG_DATA(c), sizeof(cred));
      command_pid = cred.pid;
    }
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
    slots[HK_R_ENDED_BY] = exit_rec.ended_by;
    slots[HK_R_USAGE] = 1;
  } else if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) {
    /* the monitor was killed (walltime, caller's kill) or mirrored the init's death by a signal */
    slots[HK_R_STATE] = 2, slots[HK_R_CODE] = info.si_status;
  } else {
    slots[HK_R_STATE] = 4, slots[HK_R_CODE] = info.si_status;
  }
  if (cgroup_rec.kind && slots[HK_R_STATE] != 3) {
    /* The cgroup counts every process of the sandbox, whatever reaped it; a figure it lacks stays the init's. */
    if (cgroup_rec.utime_us >= 0) slots[HK_R_UTIME_US] = cgroup_rec.utime_us;
    if (cgroup_rec.stime_us >= 0) slots[HK_R_STIME_US] = cgroup_rec.stime_us;
    if (cgroup_rec.maxrss_kb >= 0) slots[HK_R_MAXRSS_KB] = cgroup_rec.maxrss_kb;
    slots[HK_R_OOM_KILLS] = cgroup_rec.status;
    slots[HK_R_USAGE] = 2;
  }
  slots[HK_R_INIT_PID] = init_pid;
  slots[HK_R_COMMAND_PID] = command_pid;
  memcpy(result, slots, sizeof(slots));
  return 0;
}

int32_t hk_release(int32_t hold_fd) {
  int rc = hk_write_all(hold_fd, "g", 1) < 0 ? -errno : 0;
  close(hold_fd);
  return rc;
}

int32_t hk_mkfifo(const char *path, uint32_t mode) { return mkfifo(path, (mode_t)mode) < 0 ? -errno : 0; }

int32_t hk_fifo_signal(const char *path) {
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -errno;
  struct stat st;
  int rc = fstat(fd, &st) < 0 ? -errno : !S_ISFIFO(st.st_mode) ? -EINVAL : 0;
  if (!rc && hk_write_all(fd, "0", 1) < 0) rc = -errno;
  close(fd);
  return rc;
}

int32_t hk_wait(int32_t pidfd) {
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL) < 0)
    if (errno != EINTR) return -errno;
  return info.si_code == CLD_EXITED ? (info.si_status & 0xff) << 8 : info.si_status & 0x7f;
}

int32_t hk_kill(int32_t pidfd, int32_t sig) {
  if (sig == SIGKILL) sig = HK_SIG_KILL; /* see HK_SIG_KILL: the init program takes everything down first */
  else if (sig < 0) sig = -sig;          /* as it is: the last resort */
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

int64_t hk_try_read(int32_t fd, uint8_t *buf, size_t len) { return hk_read(fd, buf, len); }

int64_t hk_try_write(int32_t fd, const uint8_t *buf, size_t len) { return hk_write(fd, buf, len); }
int64_t hk_write_capped(int32_t fd, const uint8_t *buf, size_t len, int64_t limit) {
  struct stat st;
  int flags = fcntl(fd, F_GETFL);
  if (limit >= 0 && flags >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t pos = (flags & O_APPEND) ? st.st_size : lseek(fd, 0, SEEK_CUR);
    if (pos < 0) return -errno;
    if (pos >= limit) return -EFBIG;
    if ((uint64_t)(limit - pos) < len) len = (size_t)(limit - pos);
  }
  return hk_write(fd, buf, len);
}

int32_t hk_open_null(void) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}
