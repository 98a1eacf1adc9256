/*
 * Sandbox side: the sandbox's init (PID 1 of the new pid namespace), cloned
 * by the monitor from the small hakoniwa-init program. It sets up the root,
 * forks the command, forwards signals to it, reaps orphans, and when the
 * command exits kills everything left and reports the command's wait status.
 * No allocation here: the monitor decoded the spec before clone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static volatile pid_t command_pid = -1;
/* HK_END_*: why init ended the command (set by the handlers below, read after the last wait). */
static volatile sig_atomic_t ended_by = HK_END_NONE;
/* The command's CPU clock (the precise one: sum of its threads' run time) and its limit, for the watchdog. */
static clockid_t command_clock;
static int64_t cpu_limit_ns;

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* To the command's whole process group (it leads its own session), as a
 * terminal would: a shell waiting for a foreground child ignores SIGINT
 * itself, so the child must get it too. Before the command's setsid the
 * group does not exist yet: then to the command alone. */
static void forward(int sig) {
  int saved = errno;
  if (command_pid > 0 && kill(-command_pid, sig) < 0) kill(command_pid, sig);
  errno = saved;
}

/* Everything else of the pid namespace dies now; the wait loop reaps it all (their usage counts) and reports. */
static void end_all(uint32_t why) {
  if (ended_by == HK_END_NONE) ended_by = (sig_atomic_t)why;
  kill(-1, SIGKILL);
}

/* HK_SIG_END: the monitor asks (the caller's kill, walltime or output cap). */
static void end_requested(int sig) {
  (void)sig;
  int saved = errno;
  end_all(HK_END_REQUEST);
  errno = saved;
}

/* SIGALRM: the CPU watchdog. RLIMIT_CPU is checked on tick-sampled time, which a loaded machine charges unevenly
 * (a command can be killed at 0.85 s of run time for a 1 s limit); the command's own clock is exact, and the
 * record says init acted, so the verdict needs no guess. As the kernel would: SIGXCPU at the limit, then one
 * second more and everything ends. Next look: half the time left, 2 ms to 250 ms. */
static void cpu_check(int sig) {
  (void)sig;
  int saved = errno;
  struct timespec ts;
  static int warned;
  if (command_pid > 0 && clock_gettime(command_clock, &ts) == 0) {
    int64_t used = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int64_t until = cpu_limit_ns + (warned ? 1000000000 : 0);
    if (used >= until && warned) {
      end_all(HK_END_CPU);
    } else {
      if (used >= until) {
        warned = 1;
        if (ended_by == HK_END_NONE) ended_by = HK_END_CPU;
        kill(command_pid, SIGXCPU);
        until += 1000000000;
      }
      int64_t next = (until - used) / 2;
      if (next < 2000000) next = 2000000;
      if (next > 250000000) next = 250000000;
      struct itimerval it = {.it_value = {.tv_sec = next / 1000000000, .tv_usec = (next % 1000000000) / 1000}};
      setitimer(ITIMER_REAL, &it, NULL);
    }
  }
  errno = saved;
}

static void loopback_up(struct hk_spec *s) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  hk_copy(ifr.ifr_name, sizeof(ifr.ifr_name), "lo", NULL, NULL);
  if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) hk_fail(s, HK_S_LOOPBACK, errno, "lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) hk_fail(s, HK_S_LOOPBACK, errno, "lo");
  close(sock);
}

/*
 * Tell the caller the command's pid: a record whose SCM_CREDENTIALS name it, which the kernel translates into the
 * reader's pid namespace (this init holds CAP_SYS_ADMIN over its own pid namespace, so it may name a pid of it).
 * The caller matches the kernel's seccomp records, which give host pids, to the command with it. Best effort: a
 * report without it leaves only that unknown.
 */
static void report_command(struct hk_spec *s, pid_t pid) {
  struct hk_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.kind = HK_REC_COMMAND, rec.status = pid;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(struct ucred))];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = {.iov_base = &rec, .iov_len = sizeof(rec)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_CREDENTIALS, c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred cred = {.pid = pid, .uid = getuid(), .gid = getgid()};
  memcpy(CMSG_DATA(c), &cred, sizeof(cred));
  while (sendmsg(s->report_fd, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

static void init_loop(struct hk_spec *s, pid_t child) __attribute__((noreturn));
static void init_loop(struct hk_spec *s, pid_t child) {
  int status = 0;
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, WUNTRACED);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break; /* ECHILD: nothing left */
    if (WIFSTOPPED(st)) {
      /* Ctrl-Z on the command's terminal: the caller stops too, and continues it with SIGCONT. */
      if (r == child && s->events_fd >= 0) hk_write_all(HK_FD_EVENTS, &(char){HK_EV_STOPPED}, 1);
      continue;
    }
    if (r == child) {
      status = st;
      command_pid = -1;
      kill(-1, SIGKILL); /* the command is done: nothing else may outlive it */
    }
  }
  /* Detached (an OCI container), nobody reads a report: the init's own exit says how the command ended. */
  if (s->flags & HK_F_DETACH) _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
  /* Usage of everything init reaped: the command and any orphans, not init itself. */
  struct rusage ru;
  memset(&ru, 0, sizeof(ru));
  getrusage(RUSAGE_CHILDREN, &ru);
  struct hk_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.kind = HK_REC_EXIT, rec.status = status, rec.ended_by = (uint32_t)ended_by;
  rec.utime_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
  rec.stime_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  rec.maxrss_kb = ru.ru_maxrss;
  hk_write_all(s->report_fd, &rec, sizeof(rec));
  _exit(0);
}

void hk_child_main(struct hk_spec *s) {
  /* If the monitor dies, so do we (and with PID 1, the whole pid namespace). It
   * keeps the sync pipe's write end for its whole life: a hang-up after the
   * release byte means it died before this prctl took effect. */
  int detached = (s->flags & HK_F_DETACH) != 0;
  if (!detached && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) hk_fail(s, HK_S_PRCTL, errno, "PR_SET_PDEATHSIG");
  hk_reset_signals();
  umask(0); /* the root is built with exact modes; exec.c gives the command the caller's umask */
  /* Only stdio, the report pipe, the sync pipe's read end (moved to fd 4), the events fd and the start fifo stay
   * open. */
  if (s->sync_fd != HK_FD_SPEC) {
    if (dup3(s->sync_fd, HK_FD_SPEC, O_CLOEXEC) < 0) hk_fail(s, HK_S_STDIO, errno, "dup3");
    s->sync_fd = HK_FD_SPEC;
  }
  close(HK_FD_HOLD);
  if (!s->start_fifo) close(HK_FD_START); /* there it may be the sync pipe's write end, which is the monitor's */
  if (syscall(SYS_close_range, HK_FD_FIRST_FREE, ~0U, 0) < 0) hk_fail(s, HK_S_STDIO, errno, "close_range");
  if (s->events_fd >= 0 && fcntl(HK_FD_EVENTS, F_SETFD, FD_CLOEXEC) < 0) hk_fail(s, HK_S_STDIO, errno, "events fd");

  /* Wait until the monitor wrote the id maps; end of file means it gave up or died. */
  char go;
  ssize_t n;
  while ((n = read(s->sync_fd, &go, 1)) < 0 && errno == EINTR) {
  }
  struct pollfd alive = {.fd = s->sync_fd, .events = POLLIN};
  /* Detached, the monitor exits right after the release byte: only the byte counts. */
  if (n != 1 || (!detached && poll(&alive, 1, 0) != 0)) _exit(125);
  close(s->sync_fd);
  prctl(PR_SET_NAME, "hakoniwa-init");
  /* Now in its own cgroup (the monitor moved it there while it waited): a cgroup namespace made here is rooted
   * at that cgroup, so /proc/self/cgroup inside says "/" and a cgroupfs mounted inside shows nothing above it. */
  if ((s->ns_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) hk_fail(s, HK_S_CGROUP, errno, "unshare");
  /* A session of its own, so a new autogroup: /proc/1/autogroup inside reaches this one, not the caller's. On a
   * terminal it is the session of the command's job (see HK_SESSION_TTY). */
  if (setsid() < 0) hk_fail(s, HK_S_SETSID, errno, "setsid");
  if (s->setsid_mode == HK_SESSION_TTY && ioctl(0, TIOCSCTTY, 0) < 0) hk_fail(s, HK_S_SETSID, errno, "TIOCSCTTY");
  /* Nothing inside may ptrace it or read its memory (it has capabilities the command has not). */
  if (prctl(PR_SET_DUMPABLE, 0) < 0) hk_fail(s, HK_S_PRCTL, errno, "PR_SET_DUMPABLE");

  /* An exec: the child, in the container's namespaces, is the command itself. */
  if (s->flags & HK_F_EXEC) hk_exec_command(s);
  if (s->ns_flags & CLONE_NEWNS) hk_build_root(s);
  if ((s->ns_flags & CLONE_NEWUTS) && s->hostname &&
      sethostname(s->hostname, hk_strlen(s->hostname)) < 0)
    hk_fail(s, HK_S_HOSTNAME, errno, s->hostname);
  if ((s->ns_flags & CLONE_NEWNET) && (s->flags & HK_F_LOOPBACK_UP)) loopback_up(s);
  if ((s->flags & HK_F_KEYRING) && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0)
    hk_fail(s, HK_S_KEYRING, errno, "keyctl");
  /* --allow-net: the bridge to the proxy listens before the command exists (relay.c). */
  if (s->relay_port) hk_start_relay(s);

  /* Block forwarded signals, the end request and the watchdog until the command's pid is known (before, an end
   * request's default action ends init, and with it the sandbox). */
  sigset_t fwd, old;
  sigemptyset(&fwd);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaddset(&fwd, forwarded[i]);
  sigaddset(&fwd, HK_SIG_END);
  sigaddset(&fwd, SIGALRM);
  sigprocmask(SIG_BLOCK, &fwd, &old);
  /* The raw syscall: no atfork handlers, nothing but the fork. */
  long pid = syscall(SYS_fork);
  if (pid == 0) hk_exec_command(s);
  if (pid < 0) hk_fail(s, HK_S_FORK, errno, "fork");
  command_pid = (pid_t)pid;
  report_command(s, (pid_t)pid);
  if (s->setsid_mode == HK_SESSION_TTY) setpgid((pid_t)pid, (pid_t)pid); /* as the child does: no race either way */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaction(forwarded[i], &sa, NULL);
  sa.sa_handler = end_requested;
  sigaction(HK_SIG_END, &sa, NULL);
  if (s->cpu_limit_ns) {
    cpu_limit_ns = (int64_t)s->cpu_limit_ns;
    if (clock_getcpuclockid((pid_t)pid, &command_clock) == 0) {
      sa.sa_handler = cpu_check;
      sigaction(SIGALRM, &sa, NULL);
      cpu_check(SIGALRM); /* arms the first look */
    }
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (detached) {
    /* The command holds the start fifo and reports ready or failed itself; the caller does not outlive that. */
    close(HK_FD_START);
    close(s->report_fd);
    s->report_fd = -1;
  }
  /* init needs no stdio: the command's pipes close when the command does. */
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3; i++) null_fd >= 0 ? dup2(null_fd, i) : close(i);
  if (null_fd > 2) close(null_fd);
  init_loop(s, (pid_t)pid);
}
