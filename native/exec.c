/*
 * Sandbox side: the command process, forked by the sandbox's init. It drops everything the
 * command must not have, installs the filters last (first under --allow-new-privs) and execs. Any failure
 * is reported and the command never runs (exit 125).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

/*
 * HK_F_DETACH: the program as it will be executed, found now (as execvp would search for it), so that a missing
 * one fails the setup while the caller still reads the report, not after the start.
 */
static const char *find_program(struct hk_spec *s, char *path, size_t cap) {
  const char *prog = s->program;
  struct stat st;
  if (strchr(prog, '/') || !s->search_path[0]) {
    if (access(prog, X_OK) < 0) hk_fail(s, HK_S_EXECVE, errno, prog);
    return prog;
  }
  int saw_eacces = 0;
  for (const char *dir = s->search_path;;) {
    const char *end = strchr(dir, ':');
    size_t n = end ? (size_t)(end - dir) : strlen(dir);
    if (n + hk_strlen(prog) + 2 < cap) {
      memcpy(path, dir, n);
      hk_copy(path + n, cap - n, n ? "/" : "", prog, NULL);
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (access(path, X_OK) == 0) return path;
        saw_eacces = 1;
      }
    }
    if (!end) break;
    dir = end + 1;
  }
  hk_fail(s, HK_S_EXECVE, saw_eacces ? EACCES : ENOENT, prog);
}

/* HK_F_DETACH, HK_F_EXEC: say the command is set up (what fails after this is not reported to a detached caller). */
static void report_ready(struct hk_spec *s) {
  struct hk_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.kind = HK_REC_READY;
  if (hk_write_all(s->report_fd, &rec, sizeof(rec)) < 0) _exit(125); /* the caller is gone: never start */
}

/* HK_F_DETACH: say the command is ready, then wait until the start fifo gets its byte (an OCI runtime's start). */
static void wait_for_start(struct hk_spec *s) {
  report_ready(s);
  struct pollfd p = {.fd = HK_FD_START, .events = POLLIN};
  char go = 0;
  for (;;) {
    int n = poll(&p, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) hk_fail(s, HK_S_START, errno, "poll");
    ssize_t r = read(HK_FD_START, &go, 1);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r == 1) break;
    _exit(125); /* a writer came and went without the byte: no start */
  }
  close(HK_FD_START);
}

static void exec_program(struct hk_spec *s) __attribute__((noreturn));
static void exec_program(struct hk_spec *s) {
  char path[4096];
  int saw_eacces = 0;
  const char *prog = s->program;
  if (strchr(prog, '/') || !s->search_path[0]) {
    execve(prog, s->argv, s->envp);
    hk_fail(s, HK_S_EXECVE, errno, prog);
  }
  /* Like execvp: ENOENT and ENOTDIR go on searching, EACCES is remembered, anything else stops. */
  for (const char *dir = s->search_path;;) {
    const char *end = strchr(dir, ':');
    size_t n = end ? (size_t)(end - dir) : strlen(dir);
    if (n + hk_strlen(prog) + 2 < sizeof(path)) {
      memcpy(path, dir, n);
      hk_copy(path + n, sizeof(path) - n, n ? "/" : "", prog, NULL);
      execve(path, s->argv, s->envp);
      if (errno == EACCES) saw_eacces = 1;
      else if (errno != ENOENT && errno != ENOTDIR) hk_fail(s, HK_S_EXECVE, errno, path);
    }
    if (!end) break;
    dir = end + 1;
  }
  hk_fail(s, HK_S_EXECVE, saw_eacces ? EACCES : ENOENT, prog);
}

void hk_exec_command(struct hk_spec *s) {
  hk_reset_signals();

  if (s->flags & HK_F_EXEC) {
    /* An exec's command is the child that already leads its own session (with its terminal, if any). */
  } else if (s->setsid_mode == HK_SESSION_TTY) {
    /* A job of the init's session on the sandbox's own pty: its process group becomes the foreground one (a
     * background group asking for that would get SIGTTOU, hence the mask), so Ctrl-Z stops it. */
    sigset_t ttou, old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    if (setpgid(0, 0) < 0) hk_fail(s, HK_S_SETSID, errno, "setpgid");
    if (tcsetpgrp(0, getpid()) < 0) hk_fail(s, HK_S_SETSID, errno, "tcsetpgrp");
    sigprocmask(SIG_SETMASK, &old, NULL);
  } else if (setsid() < 0) {
    /* A new session: the command can never push input into the caller's terminal. */
    hk_fail(s, HK_S_SETSID, errno, "setsid");
  }
  /* Only 0..2 survive exec; the report pipe closes exactly when exec succeeds. */
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) hk_fail(s, HK_S_STDIO, errno, "close_range");
  if (chdir(s->cwd) < 0) hk_fail(s, HK_S_CHDIR, errno, s->cwd);
  umask((mode_t)s->umask); /* init built the root with exact modes (umask 0); the command gets the caller's */
  hk_apply_rlimits(s);
  if (s->flags & (HK_F_DETACH | HK_F_EXEC)) {
    /* An OCI container. With no_new_privs the filters come after the wait for start (a profile need not allow
     * poll) and last, as runc has them; without, first (see below), and the profile must allow the rest. */
    char path[4096];
    int nnp = (s->flags & HK_F_NO_NEW_PRIVS) != 0;
    if (!nnp) hk_apply_landlock(s), hk_apply_seccomp(s);
    hk_apply_creds(s);
    const char *prog = find_program(s, path, sizeof(path));
    if (s->start_fifo) wait_for_start(s);
    else report_ready(s);
    if (nnp) hk_apply_landlock(s), hk_apply_seccomp(s);
    execve(prog, s->argv, s->envp);
    hk_fail(s, HK_S_EXECVE, errno, prog);
  }
  if (s->flags & HK_F_NO_NEW_PRIVS) {
    hk_apply_creds(s);
    hk_apply_landlock(s);
    hk_apply_seccomp(s);
  } else {
    /* --allow-new-privs: without no_new_privs the kernel loads a Landlock ruleset or a seccomp filter only
     * for a process with CAP_SYS_ADMIN in its user namespace, which this one has until hk_apply_creds
     * empties its sets. So both first; the credentials change, the capability drop and the exec then run
     * under the filter (a profile refusing one of them fails the setup at that step). */
    hk_apply_landlock(s);
    hk_apply_seccomp(s);
    hk_apply_creds(s);
  }
  exec_program(s);
}
