/*
 * Monitor side: main() of the hakoniwa-init program. hk_spawn vforks and
 * execs it in the caller's namespaces with fds 0..2 the command's stdio,
 * HK_FD_REPORT the report pipe, HK_FD_SPEC the spec and, with HK_F_HOLD,
 * HK_FD_HOLD a socket to the caller; argv[1] is the caller's pid. It is a
 * small static single-threaded program: no byte of the caller's memory,
 * argv or environment is in it. It clones the sandbox's init into the new
 * namespaces, writes its id maps (or lets the caller do it while held),
 * releases it, forwards signals to it and ends the way it ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define SPEC_MAX (64u << 20)

static volatile int sandbox_pidfd = -1;

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

/* A signal the caller sent the monitor goes on to the sandbox's init, which forwards it to the command. */
static void forward(int sig) {
  int saved = errno;
  if (sandbox_pidfd >= 0) syscall(SYS_pidfd_send_signal, sandbox_pidfd, sig, NULL, 0);
  errno = saved;
}

/* HK_SIG_KILL: have the sandbox's init end everything (HK_SIG_END) and let the wait in main() see the whole
 * namespace gone. Before there is one, nothing can be left behind: die at once. */
static void kill_all(int sig) {
  (void)sig;
  int saved = errno;
  if (sandbox_pidfd >= 0) syscall(SYS_pidfd_send_signal, sandbox_pidfd, HK_SIG_END, NULL, 0);
  else syscall(SYS_kill, getpid(), SIGKILL);
  errno = saved;
}

/* The whole spec from its memfd, in an 8-byte aligned buffer (spec.c requires it). */
static uint8_t *read_spec(size_t *len) {
  struct stat st;
  if (fstat(HK_FD_SPEC, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > SPEC_MAX) return NULL;
  uint8_t *buf = aligned_alloc(8, ((size_t)st.st_size + 7) & ~(size_t)7);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = pread(HK_FD_SPEC, buf + got, (size_t)st.st_size - got, (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    got += (size_t)n;
  }
  close(HK_FD_SPEC);
  *len = got;
  return buf;
}

static long parse_decimal(const char *s) {
  long v = 0;
  for (; *s >= '0' && *s <= '9'; s++) v = v * 10 + (*s - '0');
  return *s ? -1 : v;
}

/* Write the id maps the spec carries into the held sandbox; returns the failing step or 0. */
static uint32_t write_maps(const struct hk_spec *s, pid_t pid, char *path, size_t cap) {
  char num[24];
  const char *p = hk_decimal(pid, num);
  if (!(s->ns_flags & CLONE_NEWUSER)) return 0;
  if (!(s->cred_flags & HK_CRED_SETGROUPS)) {
    hk_copy(path, cap, "/proc/", p, "/setgroups");
    if (hk_write_text(path, "deny") < 0 && errno != ENOENT) return HK_S_SETGROUPS;
  }
  if (s->uid_map) {
    hk_copy(path, cap, "/proc/", p, "/uid_map");
    if (hk_write_text(path, s->uid_map) < 0) return HK_S_UID_MAP;
  }
  if (s->gid_map) {
    hk_copy(path, cap, "/proc/", p, "/gid_map");
    if (hk_write_text(path, s->gid_map) < 0) return HK_S_GID_MAP;
  }
  return 0;
}

/* Kill and reap the sandbox's init, and remove its cgroups; whatever it reported before dying stays first in the
 * pipe. */
static void reap(const struct hk_spec *s, int pidfd) {
  siginfo_t info;
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL) < 0 && errno == EINTR) {
  }
  int saved = errno;
  hk_cgroup_remove(s);
  errno = saved;
}

static void report_init_pid(struct hk_spec *s, pid_t pid) {
  struct hk_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.kind = HK_REC_INIT, rec.status = pid;
  if (hk_write_all(s->report_fd, &rec, sizeof(rec)) < 0) _exit(125); /* the caller is gone */
}

/* HK_T_JOIN_NS: join each namespace named by path before clone (the user namespace first, for the others' sake);
 * HK_T_START: the start fifo's read end at HK_FD_START (a fifo opened for reading without blocking, before any
 * writer). Both in the caller's credentials and mount namespace, before anything is cloned. */
static void join_and_open(struct hk_spec *s) {
  /* Every path is opened first: once in another mount namespace, /proc/PID/... names something else. */
  int fds[sizeof(s->joins) / sizeof(s->joins[0])];
  for (uint32_t i = 0; i < s->n_joins; i++)
    if ((fds[i] = open(s->joins[i].path, O_RDONLY | O_CLOEXEC)) < 0) hk_fail(s, HK_S_JOIN_NS, errno, s->joins[i].path);
  static const uint32_t order[] = {CLONE_NEWUSER, CLONE_NEWIPC,    CLONE_NEWUTS, CLONE_NEWNET,
                                   CLONE_NEWPID,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
  for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
    for (uint32_t i = 0; i < s->n_joins; i++)
      if (s->joins[i].flag == order[k] && setns(fds[i], (int)order[k]) < 0)
        hk_fail(s, HK_S_JOIN_NS, errno, s->joins[i].path);
  for (uint32_t i = 0; i < s->n_joins; i++) close(fds[i]);
  if (!s->start_fifo) return;
  int fd = open(s->start_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) hk_fail(s, HK_S_START, errno, s->start_fifo);
  if (!S_ISFIFO(st.st_mode)) hk_fail(s, HK_S_START, EINVAL, s->start_fifo);
  if (fd != HK_FD_START && (dup3(fd, HK_FD_START, O_CLOEXEC) < 0 || close(fd) < 0))
    hk_fail(s, HK_S_START, errno, "start fifo");
}

/* With HK_F_HOLD: tell the caller the init's pid and wait for its go (end of file: abort). */
static int held(pid_t pid) {
  int32_t v = pid;
  char go = 0;
  if (hk_write_all(HK_FD_HOLD, &v, sizeof(v)) < 0) return -1;
  ssize_t n;
  while ((n = read(HK_FD_HOLD, &go, 1)) < 0 && errno == EINTR) {
  }
  close(HK_FD_HOLD);
  return n == 1 && go == 'g' ? 0 : -1;
}

/* End the way the sandbox's init ended: its exit code, or the same signal. */
static void mirror(const siginfo_t *info) __attribute__((noreturn));
static void mirror(const siginfo_t *info) {
  if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED) {
    /* An init ended by HK_SIG_END during its setup was killed, as the caller asked. */
    int sig = info->si_status == HK_SIG_END ? SIGKILL : info->si_status;
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    kill(getpid(), sig);
  }
  _exit(info->si_code == CLD_EXITED ? info->si_status : 125);
}

int main(int argc, char **argv) {
  struct hk_spec s;
  memset(&s, 0, sizeof(s));
  s.report_fd = HK_FD_REPORT;
  /* The caller's thread that vforked us is our parent: if it is gone already, nobody waits for us. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) hk_fail(&s, HK_S_PRCTL, errno, "PR_SET_PDEATHSIG");
  if (argc < 2 || getppid() != (pid_t)parse_decimal(argv[1])) _exit(125);
  memset(argv[1], 0, strlen(argv[1])); /* /proc/1/cmdline inside shows the program's name only */
  prctl(PR_SET_NAME, "hakoniwa");
  /* Signals stay blocked (hk_spawn blocked them across the vfork) until the handlers are in place; the
   * forwarded ones until the sandbox's init exists. */
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &all, NULL);
  hk_reset_dispositions();
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = kill_all;
  sigaction(HK_SIG_KILL, &sa, NULL);
  sa.sa_handler = forward;
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaction(forwarded[i], &sa, NULL);
  sigset_t kill_only = all;
  sigdelset(&kill_only, HK_SIG_KILL);
  sigprocmask(SIG_SETMASK, &kill_only, NULL); /* forwarded signals wait until there is an init to forward to */

  size_t len = 0;
  uint8_t *buf = read_spec(&len);
  if (!buf) hk_fail(&s, HK_S_SPEC, errno ? errno : EINVAL, "the spec could not be read");
  const char *why = NULL;
  int decoded = hk_spec_decode(buf, len, &s, &why);
  s.report_fd = HK_FD_REPORT; /* the decoder starts from a blank spec */
  if (decoded < 0) hk_fail(&s, HK_S_SPEC, EINVAL, why);
  /* The caller's umask came through vfork and exec; the command gets it (the sandbox's init builds with 0). */
  s.umask = umask(022);
  umask((mode_t)s.umask);
  if (s.umask_set) s.umask = s.umask_set & 0777;

  /* The cgroups to join are opened in the caller's mount namespace: an exec joins the container's before clone. */
  int joined_cgroups[HK_CGROUP_MAX];
  for (size_t i = 0; i < s.n_cgroup_joins; i++) {
    char procs[HK_REC_PATH_MAX];
    hk_copy(procs, sizeof(procs), s.cgroup_joins[i], "/cgroup.procs", NULL);
    /* Above the fixed fds: HK_FD_START is taken only later (join_and_open). */
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || (joined_cgroups[i] = fcntl(fd, F_DUPFD_CLOEXEC, HK_FD_FIRST_FREE)) < 0)
      hk_fail(&s, HK_S_CGROUP, errno, procs);
    close(fd);
  }
  join_and_open(&s);
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) < 0) hk_fail(&s, HK_S_PIPE, errno, "pipe2");
  s.sync_fd = sync[0];
  /* Fork-like (no CLONE_VM): the child goes on with a copy of this small process. Detached (an OCI container), it
   * is the caller's child, as a sibling of this monitor: it lives on when the monitor and the caller are gone. */
  int pidfd = -1;
  /* The cgroup namespace is made by the sandbox's init once it is in its own cgroup (see hk_child_main), so that
   * the namespace's root is that cgroup. */
  unsigned long detach = (s.flags & HK_F_DETACH) ? CLONE_PARENT : 0;
  unsigned long flags = ((unsigned long)s.ns_flags & ~(unsigned long)CLONE_NEWCGROUP) | detach | CLONE_PIDFD | SIGCHLD;
  long pid = syscall(SYS_clone, flags, NULL, &pidfd, NULL, 0);
  if (pid == 0) hk_child_main(&s); /* sandbox side from here on; never returns */
  if (pid < 0) {
    int e = errno;
    hk_fail(&s, HK_S_CLONE, e,
            e == EPERM || e == ENOSPC || e == EUSERS
                ? "user namespaces may be disabled: see sysctl kernel.unprivileged_userns_clone and "
                  "user.max_user_namespaces"
                : "clone");
  }
  close(sync[0]);
  sandbox_pidfd = pidfd;
  sigprocmask(SIG_SETMASK, &none, NULL);
  report_init_pid(&s, (pid_t)pid);

  char path[64];
  uint32_t step = write_maps(&s, (pid_t)pid, path, sizeof(path));
  /* Into the sandbox's own cgroups, with their limits, before it runs anything. */
  if (!step && s.n_cgroups) {
    char failed[HK_REC_PATH_MAX];
    if (hk_cgroup_enter(&s, (pid_t)pid, failed, sizeof(failed)) < 0) {
      int e = errno;
      reap(&s, pidfd);
      hk_fail(&s, HK_S_CGROUP, e, failed);
    }
  }
  /* Into the cgroups named to join (an OCI container's, made by the runtime), before it runs anything. */
  for (size_t i = 0; !step && i < s.n_cgroup_joins; i++) {
    char num[24];
    const char *text = hk_decimal(pid, num);
    if (hk_write_all(joined_cgroups[i], text, strlen(text)) < 0) {
      int e = errno;
      reap(&s, pidfd);
      hk_fail(&s, HK_S_CGROUP, e, s.cgroup_joins[i]);
    }
    close(joined_cgroups[i]);
  }
  if (!step && s.has_oom) {
    char num[24], score[24], text[26];
    hk_copy(text, sizeof(text), s.oom_score_adj < 0 ? "-" : "",
            hk_decimal(s.oom_score_adj < 0 ? -(long)s.oom_score_adj : s.oom_score_adj, score), NULL);
    hk_copy(path, sizeof(path), "/proc/", hk_decimal(pid, num), "/oom_score_adj");
    if (hk_write_text(path, text) < 0) step = HK_S_OOM_SCORE;
  }
  if (step) {
    int e = errno;
    reap(&s, pidfd);
    hk_fail(&s, step, e, path);
  }
  if ((s.flags & HK_F_HOLD) && held((pid_t)pid) < 0) {
    reap(&s, pidfd);
    _exit(125);
  }
  /* The release byte; the write end stays open for our whole life (see hk_child_main). */
  if (hk_write_all(sync[1], "g", 1) < 0) {
    int e = errno;
    reap(&s, pidfd);
    hk_fail(&s, HK_S_SYNC, e, "sync pipe");
  }

  /* Detached, the init is on its own now: its parent is the caller, and the command reports ready itself. */
  if (s.flags & HK_F_DETACH) _exit(0);

  /* The monitor needs no stdio: the command's pipes close when the command does. */
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int i = 0; i < 3; i++) null_fd >= 0 ? dup2(null_fd, i) : close(i);
  if (null_fd > 2) close(null_fd);

  siginfo_t info;
  memset(&info, 0, sizeof(info));
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL) < 0 && errno == EINTR) {
  }
  sigprocmask(SIG_SETMASK, &all, NULL);
  if (s.n_cgroups) {
    /* Every process of the sandbox is gone with its init: the cgroup's figures are final. */
    struct hk_record rec;
    hk_cgroup_usage(&s, &rec);
    hk_write_all(s.report_fd, &rec, sizeof(rec));
    hk_cgroup_remove(&s);
  }
  mirror(&info);
}
