/*
 * Internal declarations shared by the native core's files. Each function
 * runs on one of three sides, named in its file's header:
 * - "caller side": in the Deno process (libhakoniwa.so), before or after the
 *   spawn; it never forks a copy of Deno, it vforks and execs hakoniwa-init;
 * - "monitor side": hakoniwa-init in the caller's namespaces, a small static
 *   single-threaded program that may allocate before it clones the sandbox;
 * - "sandbox side": the sandbox's init (PID 1, cloned by the monitor) and the
 *   command process it forks. Only async-signal-safe calls and no allocation:
 *   everything they use was prepared by the monitor before clone.
 */
#ifndef HAKONIWA_CORE_H
#define HAKONIWA_CORE_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#include "hakoniwa.h"

struct hk_mount {
  uint32_t kind, flags, mode;
  uint64_t size, inodes;
  const char *src, *dst;
  const uint8_t *data;
  size_t data_len;
  int src_fd; /* child side: opened source tree of a bind, -1 when skipped */
};

struct hk_rlimit {
  uint32_t resource;
  uint64_t soft, hard;
};

/* A hierarchy where the monitor makes the sandbox's cgroup (HK_T_CGROUP), and a limit written in it. */
#define HK_CGROUP_MAX 16
#define HK_CGROUP_SETS_MAX 32
struct hk_cgroup {
  const char *parent;
  char made[4096]; /* monitor side: parent/hakoniwa-PID once made */
  int made_ok;
};
struct hk_cgroup_set {
  uint32_t index; /* of the HK_T_CGROUP record */
  const char *file, *value;
};

struct hk_ll_rule {
  uint64_t access;
  uint64_t port;    /* HK_T_LL_PORT */
  const char *path; /* HK_T_LL_PATH, NULL for ports */
};

/* A decoded spec: pointers point into the caller's spec buffer. */
struct hk_spec {
  uint32_t ns_flags;
  const char *uid_map, *gid_map, *hostname;
  struct hk_cgroup cgroups[HK_CGROUP_MAX];
  size_t n_cgroups;
  struct hk_cgroup_set cgroup_sets[HK_CGROUP_SETS_MAX];
  size_t n_cgroup_sets;
  uint32_t root_flags;
  const char *root_src; /* "" = new tmpfs */
  struct hk_mount *mounts;
  size_t n_mounts;
  struct hk_rlimit *rlimits;
  size_t n_rlimits;
  char **envp; /* NULL-terminated */
  size_t n_env;
  char **argv; /* NULL-terminated */
  size_t n_args;
  const char *program, *search_path, *cwd;
  uint32_t uid, gid, cred_flags, flags, setsid_mode;
  uint32_t n_groups;                      /* HK_T_GROUPS */
  gid_t groups[HK_CRED_GROUPS_MAX];
  int stdio[3];
  int events_fd; /* host fd of HK_T_EVENTS, -1: none */
  uint64_t cpu_limit_ns; /* HK_T_CPU_LIMIT, 0: none */
  uint32_t relay_port;   /* HK_T_NET_RELAY, 0: none */
  const char *relay_socket;
  const char *start_fifo;  /* HK_T_START, NULL: none */
  struct hk_join { uint32_t flag; const char *path; } joins[8]; /* HK_T_JOIN_NS */
  uint32_t n_joins;
  uint32_t has_caps;       /* HK_T_CAPS given */
  uint64_t caps[5];        /* bounding, effective, permitted, inheritable, ambient */
  uint32_t has_oom;        /* HK_T_OOM_SCORE given */
  int32_t oom_score_adj;
  uint32_t umask_set;      /* HK_T_UMASK | 0x80000000, 0: none */
  const char *cgroup_joins[HK_CGROUP_MAX]; /* HK_T_CGROUP_JOIN */
  size_t n_cgroup_joins;
  struct sock_fprog filter; /* len 0 = no filter */
  uint32_t ll_abi;
  uint64_t ll_fs, ll_net, ll_scoped;
  struct hk_ll_rule *ll_rules;
  size_t n_ll_rules;
  /* Filled by the monitor before it clones the sandbox. */
  uint32_t umask; /* the caller's, which the command gets */
  int report_fd, sync_fd;
};

/* Fds of the init program as hk_spawn leaves them (0..2 are the command's stdio). */
#define HK_FD_REPORT 3 /* report pipe, write end */
#define HK_FD_SPEC 4   /* the spec: a memfd at offset 0 */
#define HK_FD_HOLD 5   /* HK_F_HOLD only: socket to the caller */
#define HK_FD_EVENTS 6 /* HK_T_EVENTS only: where the sandbox's init writes HK_EV_* */
#define HK_FD_START 7  /* HK_T_START only: the fifo's read end, opened by the monitor */
#define HK_FD_FIRST_FREE 8

/* spec.c, caller and monitor side: decode and check; on failure fill why (a short text). */
int hk_spec_decode(const uint8_t *buf, size_t len, struct hk_spec *s, const char **why);
void hk_spec_free(struct hk_spec *s);

/* init_image.c, caller side: the fd hk_spawn execs (prepared on first use), or -errno. */
int hk_init_image_fd(void);

/* child.c, sandbox side: the sandbox's init. Never returns. */
void hk_child_main(struct hk_spec *s) __attribute__((noreturn));

/* fail.c, monitor and sandbox side: send (step, errno, path) to the caller and _exit(125). */
void hk_fail(struct hk_spec *s, uint32_t step, int err, const char *path) __attribute__((noreturn));

/* cgroup.c, monitor side: make the sandbox's cgroups with their limits and move pid into them (on failure fill
 * failed with the path and return -1, errno set); read the whole sandbox's usage into a HK_REC_CGROUP record once
 * its init is gone; remove them, sub-cgroups included. */
int hk_cgroup_enter(struct hk_spec *s, pid_t pid, char *failed, size_t cap);
void hk_cgroup_usage(const struct hk_spec *s, struct hk_record *rec);
void hk_cgroup_remove(const struct hk_spec *s);

/* mounts.c, sandbox side: build the new root from the mount ops and pivot into it. */
void hk_build_root(struct hk_spec *s);

/* exec.c, sandbox side: turn the forked process into the command. Never returns. */
void hk_exec_command(struct hk_spec *s) __attribute__((noreturn));

/* relay.c, sandbox side: listen at 127.0.0.1:relay_port and fork the bridge to relay_socket (--allow-net). */
void hk_start_relay(struct hk_spec *s);

/* restrict.c, sandbox side: limits, credentials, capabilities, Landlock, seccomp. */
void hk_apply_rlimits(struct hk_spec *s);
void hk_apply_creds(struct hk_spec *s);
void hk_apply_landlock(struct hk_spec *s);
void hk_apply_seccomp(struct hk_spec *s);

/* Small async-signal-safe helpers (fail.c). */
size_t hk_strlen(const char *s);
void hk_copy(char *dst, size_t cap, const char *a, const char *b, const char *c);
int hk_write_all(int fd, const void *buf, size_t len);
/* Monitor side: write text to an existing file (no link followed at its name); 0, or -1 with errno set. */
int hk_write_text(const char *path, const char *text);
/* Decimal text of v in buf (the init program has no stdio: printf alone would double its size). */
const char *hk_decimal(long v, char buf[24]);
void hk_reset_dispositions(void);
void hk_reset_signals(void);

#endif
