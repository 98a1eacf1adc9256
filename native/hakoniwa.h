/*
 * hakoniwa native core: the C ABI that src/native/ffi.ts binds with Deno.dlopen.
 *
 * TypeScript decides, C executes. The caller sends one byte spec (see
 * src/run/spec.ts for the encoder and spec.c for the decoder); the core checks it
 * completely, starts the small static hakoniwa-init program (vfork + exec, so
 * no byte of the caller's memory reaches the sandbox) and returns. The init
 * program creates the namespaces and builds the sandbox in its own processes.
 * Waiting happens in the caller's one event loop (native/reactor.c): a
 * sandbox's end is its monitor's pidfd turning readable, then hk_reap. All buffers are owned by the caller; nothing allocated here must be
 * freed by the other side.
 *
 * scripts/generate.ts reads the enums and HK_* constants of this file into
 * src/generated/abi.ts: this header is the one list of tags, kinds, steps
 * and slots for both languages.
 */
#ifndef HAKONIWA_H
#define HAKONIWA_H

#include <stddef.h>
#include <stdint.h>

#define HK_SPEC_MAGIC 0x574e4b48u /* "HKNW" little-endian */
#define HK_SPEC_VERSION 3u
#define HK_ABI_VERSION 5

/* Record tags of the spec. Every record is [u16 tag][u16 0][u32 len][len bytes]. */
enum hk_tag {
  HK_T_NAMESPACES = 1, /* u32 clone flags */
  HK_T_UID_MAP = 2,    /* str: contents written to /proc/PID/uid_map */
  HK_T_GID_MAP = 3,    /* str: contents written to /proc/PID/gid_map */
  HK_T_HOSTNAME = 4,   /* str */
  HK_T_ROOT = 5,       /* u32 flags, str host source ("" = new tmpfs) */
  HK_T_MOUNT = 6,      /* u32 kind, u32 flags, u32 mode, u64 size, u64 inodes, str src, str dst, bytes data */
  HK_T_RLIMIT = 7,     /* u32 resource, u64 soft, u64 hard */
  HK_T_ENV = 8,        /* str NAME=VALUE */
  HK_T_ARG = 9,        /* str */
  HK_T_PROGRAM = 10,   /* str program, str search path (":"-separated, "" = none) */
  HK_T_CWD = 11,       /* str */
  HK_T_CREDS = 12,     /* u32 uid, u32 gid, u32 flags (HK_CRED_*) */
  HK_T_STDIO = 13,     /* i32 stdin, i32 stdout, i32 stderr: host fds dup'ed onto 0..2 */
  HK_T_SECCOMP = 14,   /* bytes: struct sock_filter[] */
  HK_T_FLAGS = 15,     /* u32 HK_F_* */
  HK_T_LANDLOCK = 16,  /* u32 abi, u64 handled fs, u64 handled net, u64 scoped */
  HK_T_LL_PATH = 17,   /* u64 access, str path (inside the sandbox) */
  HK_T_LL_PORT = 18,   /* u64 access, u64 port */
  HK_T_SETSID = 19,    /* u32 HK_SESSION_* */
  HK_T_CGROUP = 20,    /* str: a directory where the monitor makes the sandbox's cgroup (one record a hierarchy) */
  HK_T_EVENTS = 21,    /* i32: a host fd (a pipe's write end) where the sandbox's init writes HK_EV_* bytes */
  HK_T_GROUPS = 22,    /* u32 count (at most HK_CRED_GROUPS_MAX), count x u32 gid: the supplementary groups */
  HK_T_CPU_LIMIT = 23, /* u64 ns: the command's CPU time limit, kept by the sandbox's init on its exact clock */
  HK_T_CGROUP_SET = 24, /* u32 index of a HK_T_CGROUP record, str file, str value: a limit of the sandbox's cgroup */
  /* u32 port, str path inside: --allow-net's bridge, from 127.0.0.1:port inside to the proxy's unix socket at path
   * (bound there by a HK_T_MOUNT); needs a new network namespace (native/relay.c) */
  HK_T_NET_RELAY = 25,
  /* An OCI runtime's records (src/oci/), with HK_F_DETACH: */
  HK_T_START = 26,     /* str: a fifo on the host; the command waits before exec until a byte is written to it */
  HK_T_JOIN_NS = 27,   /* u32 clone flag, str path: the monitor joins this namespace (setns) before clone */
  HK_T_CAPS = 28,      /* 5 x u64: capability sets kept (bounding, effective, permitted, inheritable, ambient) */
  HK_T_OOM_SCORE = 29, /* u32 (as i32): the sandbox's init's oom_score_adj, written by the monitor */
  HK_T_UMASK = 30,     /* u32: the command's umask (without: the caller's) */
  /* str: an existing cgroup directory the sandbox's init joins (writing its cgroup.procs) before it runs anything;
   * made, limited and removed by the caller (an OCI container's, src/oci/), opened before any namespace is joined */
  HK_T_CGROUP_JOIN = 31,
};

/* Events the sandbox's init writes on the HK_T_EVENTS fd. */
#define HK_EV_STOPPED 84 /* 'T': the command was stopped (job control: Ctrl-Z on its terminal) */

#define HK_SESSION_NEW 0u /* setsid: no controlling terminal */
/* The sandbox's init leads a session with stdin as its controlling terminal; the command is the foreground
 * process group of it (as a shell's job), so Ctrl-Z stops it and the init sees the stop. */
#define HK_SESSION_TTY 1u

/* Mount operation kinds, applied in spec order beneath the new root. */
enum hk_mount_kind {
  HK_M_BIND = 1,    /* bind host src (recursive) at dst */
  HK_M_TMPFS = 2,   /* new tmpfs at dst, size bytes and at most inodes inodes (0 = the kernel's default), mode */
  HK_M_PROC = 3,    /* new procfs at dst */
  HK_M_DIR = 4,     /* directory with mode */
  HK_M_FILE = 5,    /* regular file with mode and data as contents */
  HK_M_SYMLINK = 6, /* symlink at dst pointing to src (verbatim) */
  HK_M_REBIND = 7,  /* bind a path already inside the new root onto itself (for flags) */
  HK_M_DEVPTS = 8,  /* new devpts instance at dst (newinstance, ptmxmode=0666, mode=0620) */
  HK_M_FS = 9,      /* new filesystem of type src at dst; data: its options "key=value,flag,..." (fsconfig) */
  HK_M_MASK = 10,   /* cover an existing dst: /dev/null over a file, an empty read-only tmpfs over a directory */
};

/* Mount flags (HK_T_MOUNT and HK_T_ROOT). */
#define HK_MF_RDONLY 0x1u
#define HK_MF_NOSUID 0x2u
#define HK_MF_NODEV 0x4u
#define HK_MF_NOEXEC 0x8u
#define HK_MF_OPTIONAL 0x10u /* a missing bind source is skipped, not an error */
/* HK_T_ROOT and HK_M_BIND: the rootdir (or the bind's source, a directory) is the read-only lower layer of an
 * overlay whose upper layer is a new tmpfs, and the root (or the bind) is built on the overlay: what the build makes
 * (mount points, files) lands in the tmpfs, never in the host's directory. The overlay becomes read-only once built
 * (the root with HK_F_ROOT_RDONLY, a bind with HK_MF_RDONLY). */
#define HK_MF_LAYER 0x20u
/* HK_M_FILE only: write data into the existing file dst (a sysctl under /proc/sys): never create, truncate or chmod. */
#define HK_MF_EXISTING 0x40u

/* Credential flags. */
/* Set the supplementary groups to the HK_T_GROUPS list (without one: none). Needs setgroups allowed in the
 * sandbox's user namespace: the monitor writes "deny" to /proc/PID/setgroups only without this flag, and a
 * spec with a non-empty HK_T_GROUPS list but without this flag is refused. */
#define HK_CRED_SETGROUPS 0x1u
#define HK_CRED_GROUPS_MAX 64 /* the most supplementary groups a spec may carry */

/* Process flags. */
#define HK_F_DROP_CAPS 0x1u     /* empty every capability set before exec */
#define HK_F_ROOT_RDONLY 0x2u   /* make the root mount read-only once built */
/* prctl(PR_SET_NO_NEW_PRIVS) before exec, then Landlock and seccomp after the credentials change. Without it
 * (--allow-new-privs), Landlock and seccomp are loaded first, while the command process still has
 * CAP_SYS_ADMIN in its user namespace (the kernel's condition without no_new_privs), and the credentials
 * change and the capability drop run under the filter. */
#define HK_F_NO_NEW_PRIVS 0x4u
#define HK_F_KEYRING 0x8u       /* join a new anonymous session keyring */
#define HK_F_LOOPBACK_UP 0x10u  /* bring lo up in a new network namespace */
/* An OCI container (src/oci/): the sandbox's init is cloned with CLONE_PARENT (the caller's child, so it outlives
 * the monitor and, once the caller exits, belongs to the caller's subreaper), without a parent-death signal; the
 * monitor exits once it released it; the command, set up, writes HK_REC_READY and waits on HK_T_START's fifo before
 * exec; the init ends with the command's exit code (128 + the signal that killed it) instead of a report. */
#define HK_F_DETACH 0x20u
/* An OCI runtime's exec: no namespace is created and no root built; every namespace of the container is joined
 * (HK_T_JOIN_NS, the mount and pid ones too), and the cloned child, in them, is the command itself: it sets itself
 * up, writes HK_REC_READY and execs at once. With HK_F_DETACH it is the caller's child (no start fifo); without,
 * the monitor waits for it and ends as it ends. */
#define HK_F_EXEC 0x40u
/* The sandbox's init is held before any setup of its own: the id maps the spec
 * carries are written (a spec without them leaves them to the caller, e.g. to
 * newuidmap), nothing else is done yet. out[4] of hk_spawn is then the hold fd:
 * hk_held tells the init's pid, the caller does what it needs with its namespaces
 * (pasta, id maps) and calls hk_release. */
#define HK_F_HOLD 0x80000000u

/* The signal hk_kill sends the init program for SIGKILL: it has the sandbox's init end (HK_SIG_END: kill every
 * process of its pid namespace, reap them, report), waits until every process is gone, then dies by SIGKILL
 * itself; so when its pidfd turns readable, nothing of the sandbox is left. (A SIGKILL of the init program
 * itself would leave that to the kernel, and lose the report.) */
#define HK_SIG_KILL 40
/* The signal the monitor sends the sandbox's init for HK_SIG_KILL: the init kills every other process of its pid
 * namespace, reaps them (so their CPU time and memory count) and reports before it exits. */
#define HK_SIG_END 41
/* hk_kill with a negative sig sends -sig to the init program as it is (SIGKILL unmapped: the last resort when the
 * init program does not end after HK_SIG_KILL). */

/* Why the sandbox's init ended the command (HK_R_ENDED_BY, hk_record.ended_by). */
#define HK_END_NONE 0
#define HK_END_REQUEST 1 /* HK_SIG_END: the caller's kill, its walltime or its output cap */
#define HK_END_CPU 2     /* the command's CPU time reached HK_T_CPU_LIMIT: SIGXCPU, and a second later SIGKILL */

/* Steps named in errors: src/generated/abi.ts spells each as lowercase words
 * joined by "-" (HK_S_PIVOT_ROOT is "pivot-root"). */
enum hk_step {
  HK_S_SPEC = 1,
  HK_S_PIPE,
  HK_S_CLONE,
  HK_S_UID_MAP,
  HK_S_GID_MAP,
  HK_S_SETGROUPS,
  HK_S_SYNC,
  HK_S_PRCTL,
  HK_S_MOUNT_PRIVATE,
  HK_S_OPEN_SOURCE,
  HK_S_ROOT,
  HK_S_MKDIR,
  HK_S_BIND,
  HK_S_TMPFS,
  HK_S_PROC,
  HK_S_FILE,
  HK_S_SYMLINK,
  HK_S_REMOUNT,
  HK_S_PIVOT_ROOT,
  HK_S_HOSTNAME,
  HK_S_FORK,
  HK_S_SETSID,
  HK_S_STDIO,
  HK_S_CHDIR,
  HK_S_RLIMIT,
  HK_S_SETGID,
  HK_S_SETUID,
  HK_S_CAPABILITIES,
  HK_S_NO_NEW_PRIVS,
  HK_S_LANDLOCK,
  HK_S_SECCOMP,
  HK_S_EXECVE,
  HK_S_WAIT,
  HK_S_KEYRING,
  HK_S_LOOPBACK,
  HK_S_INIT,
  HK_S_CGROUP,
  HK_S_ROOT_LAYER,
  HK_S_DEVPTS,
  HK_S_BIND_LAYER,
  HK_S_NET_RELAY,
  HK_S_JOIN_NS,
  HK_S_OOM_SCORE,
  HK_S_START,
  HK_S_MOUNT_FS,
  HK_S_MASK,
};

/* Records sent from the monitor and the sandbox to the caller over the report channel (one message each). */
#define HK_REC_ERROR 1u
#define HK_REC_EXIT 2u
#define HK_REC_INIT 3u /* status: the pid of the sandbox's init, in the caller's pid namespace */
/* From the monitor once the sandbox is gone: its cgroup's usage. status: out-of-memory kills; utime_us, stime_us
 * (-1: unknown); maxrss_kb: the cgroup's peak memory (-1: unknown). */
#define HK_REC_CGROUP 5u
/* Sent by the sandbox's init once it forked the command, with the command's pid as SCM_CREDENTIALS: the kernel
 * translates it into the reader's pid namespace (the report channel is a SOCK_SEQPACKET pair, SO_PASSCRED on the
 * caller's end). */
#define HK_REC_COMMAND 4u
#define HK_REC_READY 6u /* HK_F_DETACH: the command is set up and waits for the start fifo */
#define HK_REC_PATH_MAX 1000

/*
 * The OCI runtime's decider (src/oci/decider.ts): a warm Deno that turns a `create` command line into a spec, which
 * bin/hakoniwa-oci (native/oci_front.c) spawns itself, so that the container's init is the caller's child. Messages
 * on its unix socket are [u32 length][u8 kind][payload]; the front end's request (HK_DECIDE_REQUEST) is
 * "hakoniwa-oci-decide-VERSION\0cwd\0cgroup\0" then its argv, each NUL-terminated.
 */
#define HK_DECIDE_DONE 1         /* decider: u8 exit code, then the text for the caller's stderr */
#define HK_DECIDE_SPAWN 2        /* decider: u8 terminal, u32 n, n bytes console socket path, then the spec */
#define HK_DECIDE_READY 3        /* front end: i32 the init's pid (its command waits for start) */
#define HK_DECIDE_RECORD 4       /* front end: the struct hk_record of a setup error */
#define HK_DECIDE_SPAWN_FAILED 5 /* front end: hk_spawn's err buffer (HK_RESULT_SIZE bytes) */
#define HK_DECIDE_LOST 6         /* front end: the report channel ended before the command was ready */
#define HK_DECIDE_CONSOLE 7      /* front end: i32 errno of sending the terminal's master to the console socket */
#define HK_DECIDE_REQUEST 8      /* front end: the request above */
#define HK_DECIDE_PTY_FD 100     /* with a terminal, the spec's stdio: the front end puts the pty's slave there */
#define HK_DECIDE_VERSION 1      /* in the hello: "hakoniwa-oci-decide-1" */
struct hk_record {
  uint32_t kind;   /* HK_REC_* */
  uint32_t step;   /* enum hk_step, for errors */
  int32_t err;     /* errno, for errors */
  int32_t status;  /* wait status of the command, for exits */
  uint32_t ended_by, pad; /* HK_END_*, for exits */
  int64_t utime_us, stime_us, maxrss_kb; /* of the sandbox's processes, for exits */
  char path[HK_REC_PATH_MAX]; /* NUL-terminated, for errors */
};

/* hk_reap result layout, in int64 slots of the caller's buffer. */
enum hk_result_slot {
  HK_R_STATE = 0,     /* 1 exited, 2 killed by signal, 3 setup error, 4 lost */
  HK_R_CODE,          /* exit code, or signal number */
  HK_R_STEP,          /* setup error step */
  HK_R_ERRNO,         /* setup error errno */
  HK_R_ENDED_BY,      /* HK_END_*: why the sandbox's init ended the command */
  HK_R_UTIME_US,
  HK_R_STIME_US,
  HK_R_MAXRSS_KB,
  HK_R_REAL_NS,
  HK_R_INIT_PID,      /* pid of the sandbox's init (0 when it was never cloned) */
  HK_R_USAGE,         /* where the usage slots come from: 0 nowhere, 1 the sandbox init's report of every process it
                       * reaped, 2 the sandbox's cgroup */
  HK_R_OOM_KILLS,     /* out-of-memory kills the sandbox's cgroup recorded */
  HK_R_COMMAND_PID,   /* pid of the command, in the caller's pid namespace (0 when it was never forked) */
  HK_R_SLOTS,
};
/* The error path follows the slots: HK_R_SLOTS * 8 bytes in, HK_REC_PATH_MAX long. */
#define HK_RESULT_SIZE (HK_R_SLOTS * 8 + HK_REC_PATH_MAX)

/* --- the exported ABI (parent side) --- */
#define HK_EXPORT __attribute__((visibility("default")))

/* Version of this ABI, checked by the loader. */
HK_EXPORT int32_t hk_abi_version(void);

/*
 * Prepare the init program's image once per process: a sealed memfd of the
 * bytes this library carries, or where the kernel refuses executable memfds
 * (vm.memfd_noexec), an unnamed O_TMPFILE in the first of dirs (":"-separated)
 * that is a directory owned by the caller and writable by nobody else.
 * Returns 1 (memfd) or 2 (a directory's unnamed file; why names it), or
 * -errno with why saying what was tried. Later calls return the first result.
 */
HK_EXPORT int32_t hk_init_prepare(const char *dirs, uint8_t *why, size_t len);

/*
 * Check the spec and start the init program for it (vfork + exec on the
 * calling thread; the init creates the namespaces). Fills out[0] = pid of
 * the init program, out[1] = its pidfd, out[2] = report fd, out[3] = start
 * time (CLOCK_MONOTONIC nanoseconds), and with HK_F_HOLD out[4] = hold fd (out
 * has 5 slots then; see hk_held), and returns 0. On failure returns -1 and
 * fills err (HK_RESULT_SIZE bytes, same layout as hk_reap) with the step,
 * errno and path; nothing is left running.
 */
HK_EXPORT int32_t hk_spawn(const uint8_t *spec, size_t len, int64_t *out, uint8_t *err);

/*
 * For a sandbox spawned with HK_F_HOLD: block until its init exists and is
 * held, and return its pid (in the caller's pid namespace); 0 when setup
 * ended before (hk_reap's report says why); -errno on failure. Safe to run
 * on a worker thread.
 */
HK_EXPORT int64_t hk_held(int32_t hold_fd);

/*
 * Collect an ended sandbox: call once its pidfd is readable (the init program
 * is gone, and with it every process of the sandbox). Reaps it, reads the
 * report pipe to its end, closes report_fd and fills result (HK_RESULT_SIZE
 * bytes). The caller closes pidfd (on the thread that also calls hk_kill, so
 * a kill never meets a reused fd). Does not block.
 */
HK_EXPORT int32_t hk_reap(int32_t pidfd, int32_t report_fd, int64_t start_ns, uint8_t *result);

/*
 * Release a sandbox spawned with HK_F_HOLD: it goes on with its setup. Closes
 * hold_fd. To abort instead, close hold_fd with hk_close (the init then
 * exits 125 before any setup) and wait for it.
 */
HK_EXPORT int32_t hk_release(int32_t hold_fd);

/* The Landlock ABI version the kernel offers (0: none), or -errno. */
HK_EXPORT int32_t hk_landlock_abi(void);

/* An OCI runtime's start fifo: make it (mode, never following a symlink at path), and have its waiting command go on
 * (open for writing without blocking: -ENXIO when nothing waits on it; one byte written). 0 or -errno. */
HK_EXPORT int32_t hk_mkfifo(const char *path, uint32_t mode);
HK_EXPORT int32_t hk_fifo_signal(const char *path);

/* Wait for a child through its pidfd (it has ended or is about to); its wait status, or -errno. */
HK_EXPORT int32_t hk_wait(int32_t pidfd);

/* Send sig to the init program through its pidfd; it forwards it to the command (SIGKILL: see HK_SIG_KILL;
 * a negative sig: see HK_SIG_END). */
HK_EXPORT int32_t hk_kill(int32_t pidfd, int32_t sig);

/* Pipes and fds for piped stdio: pipe with O_CLOEXEC (fds[0] read, fds[1] write). */
HK_EXPORT int32_t hk_pipe(int32_t *fds);
HK_EXPORT int32_t hk_close(int32_t fd);
/* Blocking read/write on a raw fd; -errno on failure. Safe on a worker thread. */
HK_EXPORT int64_t hk_read(int32_t fd, uint8_t *buf, size_t len);
HK_EXPORT int64_t hk_write(int32_t fd, const uint8_t *buf, size_t len);
/* The same on the calling thread, for an fd made non-blocking (-EAGAIN: arm it in the reactor and wait). */
HK_EXPORT int64_t hk_try_read(int32_t fd, uint8_t *buf, size_t len);
HK_EXPORT int64_t hk_try_write(int32_t fd, const uint8_t *buf, size_t len);

/* --- the caller's event loop (native/reactor.c) --- */
#define HK_WANT_READ 1u
#define HK_WANT_WRITE 2u
/* An epoll set and an eventfd in it (token 0) that wakes a wait: out[0] = epoll fd, out[1] = eventfd. 0 or -errno. */
HK_EXPORT int32_t hk_reactor_open(int32_t *out);
/* Watch fd for one HK_WANT_* event (one-shot), reported with token. 0 or -errno. */
HK_EXPORT int32_t hk_reactor_arm(int32_t ep, int32_t fd, uint32_t what, uint64_t token);
/* Stop watching fd (before it is closed). 0 or -errno. */
HK_EXPORT int32_t hk_reactor_forget(int32_t ep, int32_t fd);
/* Wait up to timeout_ms (< 0: no limit) for events; fills out with max entries of 16 bytes (u64 token, u32
 * HK_WANT_* that are ready, u32 0). Returns how many, or -errno. Blocks: run it on a worker thread. */
HK_EXPORT int32_t hk_reactor_wait(int32_t ep, uint8_t *out, int32_t max, int32_t timeout_ms);
/* Wake a hk_reactor_wait (its token 0 event), and take the wake-up back. 0 or -errno. */
HK_EXPORT int32_t hk_reactor_wake(int32_t wake);
HK_EXPORT int32_t hk_reactor_drain(int32_t wake);
/* O_NONBLOCK on fd (the caller's end of a pipe; the sandbox's end stays blocking). 0 or -errno. */
HK_EXPORT int32_t hk_set_nonblock(int32_t fd);

/* --- host state for plan building (native/host_read.c) --- */
/* Up to cap bytes of a regular file (no link followed, never blocking on a FIFO): the length, or -errno. */
HK_EXPORT int64_t hk_read_text(const char *path, uint8_t *buf, size_t cap);
/* The owner uid of path (no link followed), or -errno. */
HK_EXPORT int64_t hk_owner(const char *path);
/* Remove the cgroup dir and every cgroup beneath it (native/cgroup_tree.c). 0 (dir gone) or -errno. */
HK_EXPORT int32_t hk_cgroup_remove_tree(const char *dir);
/*
 * hk_write to a regular file that stops at limit bytes (limit < 0: none), as RLIMIT_FSIZE stops a write there:
 * the bytes up to limit (counted from the file's offset, its size with O_APPEND) are written, and a write that
 * starts at limit or beyond returns -EFBIG. Anything but a regular file is written whole. Safe on a worker thread.
 */
HK_EXPORT int64_t hk_write_capped(int32_t fd, const uint8_t *buf, size_t len, int64_t limit);
/* Describe errnum into buf as "NAME\tdescription" (NUL-terminated). */
HK_EXPORT int32_t hk_strerror(int32_t errnum, uint8_t *buf, size_t len);
/* Open /dev/null read-write with O_CLOEXEC. */
HK_EXPORT int32_t hk_open_null(void);
/* An anonymous memory file (memfd, O_CLOEXEC) for libseccomp's exported program; -errno on failure. */
HK_EXPORT int32_t hk_memfd(void);
/* pread on a raw fd; -errno on failure. */
HK_EXPORT int64_t hk_pread(int32_t fd, uint8_t *buf, size_t len, int64_t offset);
/* /dev/kmsg opened non-blocking at its end. */
HK_EXPORT int32_t hk_kmsg_open(void);
/* One record of it per call; -EAGAIN when none is left, -EPIPE when records were overwritten. */
HK_EXPORT int64_t hk_kmsg_read(int32_t fd, uint8_t *buf, size_t len);

/* --- the sandbox's pseudo-terminal (native/pty.c, parent side) --- */
/* Open a pty pair: fds[0] master, fds[1] slave (O_NOCTTY|O_CLOEXEC both). 0 or -errno. */
HK_EXPORT int32_t hk_pty_open(int32_t *fds);
/* sizeof(struct termios): the length of a saved terminal mode. */
HK_EXPORT int32_t hk_tty_size(void);
/* Save / restore (after output drains) / make raw the terminal mode of fd. 0 or -errno. */
HK_EXPORT int32_t hk_tty_get(int32_t fd, uint8_t *mode, size_t len);
HK_EXPORT int32_t hk_tty_set(int32_t fd, const uint8_t *mode, size_t len);
HK_EXPORT int32_t hk_tty_raw(int32_t fd);
/* Copy the window size of from onto to (to < 0: only read it); rows_cols (may be NULL) gets rows, cols. */
HK_EXPORT int32_t hk_tty_winsize(int32_t from, int32_t to, uint16_t *rows_cols);
/*
 * Relay in -> master and master -> out until no slave fd is left open or
 * stop_fd becomes readable (then what the master still holds is copied).
 * in < 0: no input. Blocks: run it on a worker thread. 0 or -errno.
 */
HK_EXPORT int32_t hk_pty_relay(int32_t in, int32_t out, int32_t master, int32_t stop_fd);
/* Connect to the unix socket at path and send fd over it (SCM_RIGHTS), as runc's --console-socket does. 0 or -errno. */
HK_EXPORT int32_t hk_send_fd(const char *path, int32_t fd);

/* --- host files the CLI and the library read or write (native/safe_open.c, caller side) --- */
#define HK_OPEN_READ 0x1u         /* a regular file to read, opened non-blocking */
#define HK_OPEN_WRITE 0x2u        /* a regular file (made 0644 when missing, not truncated) or a character device */
#define HK_OPEN_MKDIRS 0x4u       /* make the missing directories on the way (0755) */
#define HK_OPEN_REPLACE_LINK 0x8u /* HK_OPEN_WRITE: a link at the name is removed and a new file made, not refused */

/* What hk_open_file tells of the file it opened and of its directory, in int64 slots. */
enum hk_open_slot {
  HK_O_MODE = 0,
  HK_O_UID,
  HK_O_GID,
  HK_O_SIZE,
  HK_O_DIR_MODE,
  HK_O_DIR_UID,
  HK_O_DIR_GID,
  HK_O_SLOTS,
};

/*
 * Open a host file the caller reads (HK_OPEN_READ) or writes (HK_OPEN_WRITE), never led elsewhere: the path is
 * resolved one component at a time by fds, a link on the way is followed only when it belongs to the caller or
 * root, a file to read must be a regular file (opened non-blocking), a file to write is never reached through a
 * link at its name, must be a regular file or a character device, and every directory on the way must be the
 * caller's or root's and writable by nobody else, unless sticky with the file the caller's. With root (not ""),
 * path is resolved inside the directory root as its own root (RESOLVE_IN_ROOT), a link at the name refused.
 * Fills info (HK_O_SLOTS, may be NULL) and returns the fd (O_CLOEXEC), or -errno with why saying why in words.
 */
HK_EXPORT int32_t hk_open_file(const char *path, const char *root, uint32_t flags, int64_t *info, uint8_t *why,
                               size_t len);
/*
 * Write data to path as a new file renamed onto it (missing directories made), under hk_open_file's rules for
 * writing; a link at path is refused. 0 or -errno with why.
 */
HK_EXPORT int32_t hk_replace_file(const char *path, const uint8_t *data, size_t len, uint8_t *why, size_t why_len);
/* Empty a regular file and rewind it (anything else is left alone). 0 or -errno. */
HK_EXPORT int32_t hk_rewind(int32_t fd);

#endif
