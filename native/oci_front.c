/*
 * Front end side: bin/hakoniwa-oci, the OCI runtime's entry point, a small static program (no part of it runs in a
 * sandbox). Podman calls a runtime at least four times per container and containerd more; start, state, kill,
 * delete and ps only read and signal what create recorded, so they are done here without starting Deno (src/oci/
 * lifecycle.ts is the same in TypeScript, and the state files are described in src/oci/state.ts). Everything else
 * (exec, features, help, anything unexpected) goes to Deno: oci.ts of the checkout this program lives in (bundled as
 * bin/hakoniwa-oci.js), with the same arguments. `create` is decided by the decider, a warm Deno of the root's
 * (native/oci_decide.c, src/oci/decider.ts), and spawned here; without one listening, in Deno as the rest, and one is
 * started for the next. HAKONIWA_OCI_FRONT=0 sends everything to Deno; HAKONIWA_OCI_DECIDER=0 keeps create there.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "oci_decide.h"

static char **saved_argv;
static const char *log_file, *log_format = "text";
static int debug; /* --debug: say how create went (the decider's) in the log */

/* Where oci.ts is (bin/hakoniwa-oci.js, oci.ts bundled, beside this program) and the deno that runs it (the one of
 * node_modules, HAKONIWA_OCI_DENO, or one on PATH). */
static char script[PATH_MAX + 32];
static const char *deno_program(void) {
  static char self[PATH_MAX], deno[PATH_MAX + 32], denodir[PATH_MAX + 16];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) n = 0;
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (slash) *slash = 0; /* .../bin */
  slash = strrchr(self, '/');
  if (slash) *slash = 0; /* the checkout */
  /* bin/hakoniwa-oci.js is oci.ts bundled (scripts/generate.ts): one module to load instead of ~60. */
  snprintf(script, sizeof(script), "%s/bin/hakoniwa-oci.js", self);
  if (access(script, R_OK) < 0) snprintf(script, sizeof(script), "%s/oci.ts", self);
  const char *env_deno = getenv("HAKONIWA_OCI_DENO");
  snprintf(deno, sizeof(deno), "%s/node_modules/deno/deno", self);
  /* Deno keeps its caches in DENO_DIR, else under HOME: a shim started without either gets one of its own. */
  if (!getenv("DENO_DIR") && !getenv("HOME") && !getenv("XDG_CACHE_HOME")) {
    snprintf(denodir, sizeof(denodir), "%s/.deno", self);
    setenv("DENO_DIR", denodir, 1);
  }
  return env_deno && *env_deno ? env_deno : access(deno, X_OK) == 0 ? deno : "deno";
}

/* Runs oci.ts with args (NULL-terminated) after its own flags. */
static void exec_deno(char **extra) __attribute__((noreturn));
static void exec_deno(char **extra) {
  const char *prog = deno_program();
  int n = 0;
  while (extra[n]) n++;
  char **args = calloc((size_t)n + 10, sizeof(char *));
  if (!args) _exit(1);
  int i = 0;
  args[i++] = (char *)prog, args[i++] = "run", args[i++] = "--allow-all", args[i++] = "--no-check";
  /* No config or lock file: the runtime's graph names no package (6 ms of a cold create here). */
  args[i++] = "--quiet", args[i++] = "--no-config", args[i++] = "--no-lock", args[i++] = script;
  for (int j = 0; j < n; j++) args[i++] = extra[j];
  args[i] = NULL;
  execvp(prog, args);
  fprintf(stderr, "hakoniwa-oci: cannot run %s: %s\n", prog, strerror(errno));
  _exit(1);
}

/* Hand the whole command line to Deno. */
static void to_deno(void) __attribute__((noreturn));
static void to_deno(void) { exec_deno(saved_argv + 1); }

static void debug_line(const char *what, const char *path);

/* Starts the decider (src/oci/decider.ts) listening on socket, in the background and on its own (a new session,
 * no stdio: the caller's pipes stay the container's), for the creates after this one. */
static void start_decider(const char *socket) {
  if (debug) debug_line("create: runs in Deno; started the decider at ", socket);
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0) waitpid(pid, NULL, 0);
    return;
  }
  setsid();
  if (fork() != 0) _exit(0);
  int null_fd = open("/dev/null", O_RDWR);
  for (int i = 0; i < 3; i++) dup2(null_fd, i);
  syscall(SYS_close_range, 3, ~0u, 0);
  char *args[] = {"--decide-on", (char *)socket, NULL};
  exec_deno(args);
}

/* One log line as src/oci/log.ts writes it. */
static void log_line(const char *level, const char *msg) {
  char when[40];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  char line[2048];
  if (!strcmp(log_format, "json")) {
    char esc[1200];
    size_t k = 0;
    for (const char *p = msg; *p && k + 7 < sizeof(esc); p++) {
      if (*p == '"' || *p == '\\') esc[k++] = '\\', esc[k++] = *p;
      else if ((unsigned char)*p < 0x20) k += (size_t)snprintf(esc + k, sizeof(esc) - k, "\\u%04x", *p);
      else esc[k++] = *p;
    }
    esc[k] = 0;
    snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%03ldZ\"}\n", level, esc, when,
             ts.tv_nsec / 1000000);
  } else {
    snprintf(line, sizeof(line), "time=\"%s.%03ldZ\" level=%s msg=\"%s\"\n", when, ts.tv_nsec / 1000000, level, msg);
  }
  int fd = log_file ? open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : 2;
  if (fd < 0) return;
  if (write(fd, line, strlen(line)) < 0) {
  }
  if (log_file) close(fd);
}

static void debug_line(const char *what, const char *path) {
  char msg[PATH_MAX + 128];
  snprintf(msg, sizeof(msg), "%s%s", what, path);
  log_line("debug", msg);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  log_line("error", msg);
  return 1;
}

struct container {
  char dir[PATH_MAX];
  const char *id;
  int lock;
  long pid;
  char start_time[32];
};

static int valid_id(const char *id) {
  if (!*id || !strcmp(id, ".") || !strcmp(id, "..") || strlen(id) > 1024) return 0;
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_+.-", *p)) return 0;
  return 1;
}

/* Whether this process runs in a user namespace (rootless podman runs its runtime as root in one). */
static int in_user_namespace(void) {
  char buf[128] = {0};
  int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  unsigned long a, b, c;
  return !(n > 0 && sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL);
}

static int read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return (int)n;
}

/* Field 3 (state) and 22 (start time) of /proc/PID/stat; 0 when there is no such process. */
static int proc_stat(long pid, char *state, char start[32]) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  if (read_small(path, buf, sizeof(buf)) <= 0) return 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p += 2;
  *state = *p;
  for (int field = 3; field < 22 && p; field++) p = strchr(p + 1, ' ');
  if (!p) return 0;
  size_t n = strcspn(p + 1, " ");
  if (n >= 32) return 0;
  memcpy(start, p + 1, n);
  start[n] = 0;
  return 1;
}

static long parent_of(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  if (read_small(path, buf, sizeof(buf)) <= 0) return -1;
  char *p = strrchr(buf, ')');
  return p ? strtol(p + 4, NULL, 10) : -1;
}

static int alive(const struct container *c) {
  char state, start[32];
  return proc_stat(c->pid, &state, start) && !strcmp(start, c->start_time) && state != 'Z' && state != 'X';
}

/* Open and lock the container's directory; 0, or 1 after logging why not. */
static int open_container(struct container *c, const char *root, const char *id) {
  c->id = id;
  if (!valid_id(id)) return fail("invalid container id \"%s\"", id);
  if (strlen(root) + strlen(id) + 2 > sizeof(c->dir)) return fail("--root %s: too long", root);
  int w = snprintf(c->dir, sizeof(c->dir), "%s/%s", root, id);
  if (w < 0 || (size_t)w >= sizeof(c->dir)) return fail("--root %s: too long", root);
  c->lock = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->lock < 0) return fail("container %s does not exist", id);
  while (flock(c->lock, LOCK_EX) < 0 && errno == EINTR) {
  }
  char path[PATH_MAX + 16], buf[128];
  snprintf(path, sizeof(path), "%s/state.json", c->dir);
  if (access(path, F_OK) < 0) return fail("container %s does not exist", id);
  snprintf(path, sizeof(path), "%s/init", c->dir);
  if (read_small(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%ld %31s", &c->pid, c->start_time) != 2)
    return fail("container %s: its init is not recorded", id);
  return 0;
}

static const char *status_of(const struct container *c) {
  if (!alive(c)) return "stopped";
  char path[PATH_MAX + 16];
  struct stat st;
  snprintf(path, sizeof(path), "%s/exec.fifo", c->dir);
  return lstat(path, &st) == 0 ? "created" : "running";
}

static int cmd_state(struct container *c) {
  char path[PATH_MAX + 16];
  static char buf[1 << 20];
  snprintf(path, sizeof(path), "%s/state.json", c->dir);
  if (read_small(path, buf, sizeof(buf)) <= 0) return fail("container %s: cannot read its state", c->id);
  /* create wrote "status":"created","pid":N right after the id (JSON strings hold no bare quote). */
  char *at = strstr(buf, ",\"status\":\"created\",\"pid\":");
  if (!at) return fail("container %s: its state is malformed", c->id);
  char *rest = at + strlen(",\"status\":\"created\",\"pid\":");
  while (isdigit((unsigned char)*rest)) rest++;
  const char *status = status_of(c);
  *at = 0;
  printf("%s,\"status\":\"%s\",\"pid\":%ld%s", buf, status, strcmp(status, "stopped") ? c->pid : 0L, rest);
  return 0;
}

static int cmd_start(struct container *c) {
  const char *status = status_of(c);
  if (strcmp(status, "created")) return fail("cannot start a container that has %s", status);
  char path[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/exec.fifo", c->dir);
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || write(fd, "0", 1) != 1) return fail("cannot start container %s: %s", c->id, strerror(errno));
  close(fd);
  unlink(path);
  return 0;
}

static const struct {
  const char *name;
  int num;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},   {"TRAP", SIGTRAP},
               {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
               {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CONT", SIGCONT}, {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
               {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},     {"WINCH", SIGWINCH},
               {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},       {"SYS", SIGSYS}};

static int parse_signal(const char *text) {
  char *end;
  long n = strtol(text, &end, 10);
  if (*text && !*end) return n >= 1 && n <= 64 ? (int)n : -1;
  const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (!strcasecmp(name, signals[i].name)) return signals[i].num;
  return -1;
}

/* Signal the init through a pidfd taken while its start time still matches: a reused pid is never signalled. */
static int signal_init(struct container *c, int sig, int *pidfd_out) {
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)c->pid, 0);
  if (pidfd < 0 || !alive(c)) return fail("container not running");
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) return fail("kill: %s", strerror(errno));
  if (pidfd_out) *pidfd_out = pidfd;
  else close(pidfd);
  return 0;
}

/* Every process of the container (the init first), as src/oci/lifecycle.ts containerPids finds them. */
static size_t container_pids(struct container *c, long *out, size_t cap) {
  size_t n = 0;
  if (!alive(c) || cap == 0) return 0;
  out[n++] = c->pid;
  char ns[128] = {0}, path[64], link[128];
  snprintf(path, sizeof(path), "/proc/%ld/ns/pid", c->pid);
  ssize_t ns_len = readlink(path, ns, sizeof(ns) - 1);
  DIR *d = opendir("/proc");
  if (!d) return n;
  struct dirent *e;
  while ((e = readdir(d)) && n < cap) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    long pid = strtol(e->d_name, NULL, 10);
    if (pid == c->pid) continue;
    int found = 0;
    if (ns_len > 0) {
      snprintf(path, sizeof(path), "/proc/%ld/ns/pid", pid);
      ssize_t l = readlink(path, link, sizeof(link) - 1);
      found = l == ns_len && !memcmp(link, ns, (size_t)l);
    }
    for (long p = parent_of(pid), k = 0; !found && p > 1 && k < 4096; p = parent_of(p), k++)
      if (p == c->pid) found = 1;
    if (found) out[n++] = pid;
  }
  closedir(d);
  return n;
}

static int cmd_kill(struct container *c, const char *sig_text, int all) {
  int sig = parse_signal(sig_text);
  if (sig < 0) return fail("invalid signal \"%s\"", sig_text);
  if (!all) return signal_init(c, sig, NULL);
  static long pids[65536];
  size_t n = container_pids(c, pids, sizeof(pids) / sizeof(pids[0]));
  if (!n) return fail("container not running");
  int rc = signal_init(c, sig, NULL);
  for (size_t i = 1; i < n; i++) kill((pid_t)pids[i], sig);
  return rc;
}

static int remove_dir(struct container *c) {
  char path[PATH_MAX + 16], cg[16 * PATH_MAX];
  snprintf(path, sizeof(path), "%s/cgroup", c->dir);
  /* The container's cgroup: a directory per hierarchy, a line each. */
  if (read_small(path, cg, sizeof(cg)) > 0)
    for (char *line = strtok(cg, "\n"); line; line = strtok(NULL, "\n")) hk_cgroup_remove_tree(line);
  DIR *d = opendir(c->dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlinkat(dirfd(d), e->d_name, 0);
  if (d) closedir(d);
  if (rmdir(c->dir) < 0) return fail("container %s: cannot remove %s: %s", c->id, c->dir, strerror(errno));
  return 0;
}

static int cmd_delete(struct container *c, int force) {
  const char *status = status_of(c);
  if (!strcmp(status, "running") && !force)
    return fail("cannot delete container %s that is not stopped: running", c->id);
  if (strcmp(status, "stopped")) {
    int pidfd = -1;
    /* The init's end takes every process of its pid namespace with it; its pidfd turns readable then. */
    if (signal_init(c, SIGKILL, &pidfd) == 0) {
      struct pollfd p = {.fd = pidfd, .events = POLLIN};
      if (poll(&p, 1, 10000) == 0) return fail("container %s: its init does not end", c->id);
      close(pidfd);
    }
  }
  return remove_dir(c);
}

/* The state root: --root's, else runc's default (src/oci/state.ts's defaultRoot); NULL when there is none. */
static const char *root_dir(const char *root) {
  static char default_root[PATH_MAX];
  if (root) return root;
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (getuid() == 0 && !in_user_namespace()) return "/run/hakoniwa-oci";
  if (!xdg) return NULL;
  snprintf(default_root, sizeof(default_root), "%s/hakoniwa-oci", xdg);
  return default_root;
}

static int cmd_ps(struct container *c, const char *format) {
  static long pids[65536];
  size_t n = container_pids(c, pids, sizeof(pids) / sizeof(pids[0]));
  int json = format && !strcmp(format, "json");
  printf(json ? "[" : "PID\n");
  for (size_t i = 0; i < n; i++) printf(json ? "%s%ld" : "%.0s%ld\n", json && i ? "," : "", pids[i]);
  printf(json ? "]\n" : "");
  return 0;
}

/* The value of a flag at argv[*i] ("--name value" or "--name=value"), or NULL when argv[*i] is not that flag. */
static const char *flag_value(char **argv, int argc, int *i, const char *name) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (a[0] == '-' && a[1] == '-') a += 2;
  else if (a[0] == '-') a += 1;
  else return NULL;
  if (strncmp(a, name, n)) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] || *i + 1 >= argc) return NULL;
  return argv[++*i];
}

static int is_flag(const char *arg, const char *name) {
  const char *a = arg[0] == '-' && arg[1] == '-' ? arg + 2 : arg[0] == '-' ? arg + 1 : NULL;
  return a && (!strcmp(a, name) || (!strncmp(a, name, strlen(name)) && !strcmp(a + strlen(name), "=true")));
}

int main(int argc, char **argv) {
  saved_argv = argv;
  const char *root = NULL, *v;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if ((v = flag_value(argv, argc, &i, "root"))) root = v;
    else if ((v = flag_value(argv, argc, &i, "log"))) log_file = v;
    else if ((v = flag_value(argv, argc, &i, "log-format"))) log_format = v;
    else if ((v = flag_value(argv, argc, &i, "rootless")) || (v = flag_value(argv, argc, &i, "criu"))) {
    } else if (is_flag(argv[i], "debug")) debug = 1;
    else if (!is_flag(argv[i], "systemd-cgroup")) to_deno();
  }
  if (i >= argc || (strcmp(log_format, "text") && strcmp(log_format, "json"))) to_deno();
  const char *cmd = argv[i++];
  int force = 0, all = 0;
  const char *format = NULL;
  const char *operands[2] = {NULL, NULL};
  int n_operands = 0;
  const char *front = getenv("HAKONIWA_OCI_FRONT");
  if (front && !strcmp(front, "0")) to_deno(); /* everything in Deno (the tests run both ways) */
  if (!strcmp(cmd, "create")) {
    /* Decided by the warm Deno of this root, spawned here; the first one runs in a Deno of its own. */
    if (!(root = root_dir(root))) return fail("XDG_RUNTIME_DIR is not set: give --root");
    deno_program();
    char socket[PATH_MAX];
    int rc = oci_decide_create(root, script, argv + 1, start_decider, socket, sizeof(socket));
    if (rc >= 0 && debug) debug_line("create: decided by the decider at ", socket);
    if (rc >= 0) return rc;
    to_deno();
  }
  if (strcmp(cmd, "start") && strcmp(cmd, "state") && strcmp(cmd, "kill") && strcmp(cmd, "delete") && strcmp(cmd, "ps"))
    to_deno(); /* exec, features, --version, help and anything else */
  for (; i < argc; i++) {
    if (argv[i][0] != '-' || !argv[i][1]) {
      if (n_operands == 2) to_deno();
      operands[n_operands++] = argv[i];
    } else if (!strcmp(cmd, "delete") && (is_flag(argv[i], "force") || is_flag(argv[i], "f"))) force = 1;
    else if (!strcmp(cmd, "kill") && (is_flag(argv[i], "all") || is_flag(argv[i], "a"))) all = 1;
    else if (!strcmp(cmd, "ps") && ((v = flag_value(argv, argc, &i, "format")) || (v = flag_value(argv, argc, &i, "f"))))
      format = v;
    else to_deno(); /* a flag this program does not know: Deno says what is wrong with it */
  }
  if (n_operands < 1 || (n_operands == 2 && strcmp(cmd, "kill"))) to_deno();
  if (!(root = root_dir(root))) return fail("XDG_RUNTIME_DIR is not set: give --root");
  if (!strcmp(cmd, "kill") && parse_signal(operands[1] ? operands[1] : "SIGTERM") < 0)
    return fail("invalid signal \"%s\"", operands[1]);
  struct container c;
  memset(&c, 0, sizeof(c));
  if (open_container(&c, root, operands[0])) return 1;
  int rc = !strcmp(cmd, "start")  ? cmd_start(&c)
           : !strcmp(cmd, "state") ? cmd_state(&c)
           : !strcmp(cmd, "kill")  ? cmd_kill(&c, operands[1] ? operands[1] : "SIGTERM", all)
           : !strcmp(cmd, "delete") ? cmd_delete(&c, force)
                                    : cmd_ps(&c, format);
  fflush(stdout);
  return rc;
}
