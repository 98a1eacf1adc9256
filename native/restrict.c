/*
 * Sandbox side, in the command process just before exec: resource limits,
 * credentials and capabilities, no_new_privs, Landlock and seccomp. Each
 * step fails closed through hk_fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

void hk_apply_rlimits(struct hk_spec *s) {
  for (size_t i = 0; i < s->n_rlimits; i++) {
    struct rlimit64 l = {.rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard};
    if (syscall(SYS_prlimit64, 0, s->rlimits[i].resource, &l, NULL) < 0)
      hk_fail(s, HK_S_RLIMIT, errno, "setrlimit");
  }
}

/* Switch to the requested ids and leave no capability in any set but those HK_T_CAPS keeps (an OCI container's:
 * caps[] is bounding, effective, permitted, inheritable, ambient; without the record all are empty). */
void hk_apply_creds(struct hk_spec *s) {
  int drop = (s->flags & HK_F_DROP_CAPS) != 0;
  int keep = drop && s->caps[2] != 0;
  if (drop) {
    /* The bounding set needs CAP_SETPCAP, so it goes while we still have it. */
    for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
      if (!(s->caps[0] >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
        hk_fail(s, HK_S_CAPABILITIES, errno, "PR_CAPBSET_DROP");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
      hk_fail(s, HK_S_CAPABILITIES, errno, "PR_CAP_AMBIENT");
  }
  /* Kept capabilities survive the change of uid only with keepcaps (then capset below sets them exactly). */
  if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) hk_fail(s, HK_S_CAPABILITIES, errno, "PR_SET_KEEPCAPS");
  if ((s->cred_flags & HK_CRED_SETGROUPS) && setgroups(s->n_groups, s->groups) < 0)
    hk_fail(s, HK_S_SETGROUPS, errno, "setgroups");
  if (setresgid(s->gid, s->gid, s->gid) < 0) hk_fail(s, HK_S_SETGID, errno, "setresgid");
  if (setresuid(s->uid, s->uid, s->uid) < 0) hk_fail(s, HK_S_SETUID, errno, "setresuid");
  if (drop) {
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    for (int i = 0; i < 2; i++) {
      data[i].effective = (uint32_t)(s->caps[1] >> (32 * i));
      data[i].permitted = (uint32_t)(s->caps[2] >> (32 * i));
      data[i].inheritable = (uint32_t)(s->caps[3] >> (32 * i));
    }
    if (syscall(SYS_capset, &hdr, data) < 0) hk_fail(s, HK_S_CAPABILITIES, errno, "capset");
    if (keep && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) hk_fail(s, HK_S_CAPABILITIES, errno, "PR_SET_KEEPCAPS");
    /* The kernel raises an ambient capability only when it is permitted and inheritable: the plan kept only those. */
    for (int cap = 0; cap < 64; cap++)
      if ((s->caps[4] >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        hk_fail(s, HK_S_CAPABILITIES, errno, "PR_CAP_AMBIENT_RAISE");
  }
  if ((s->flags & HK_F_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    hk_fail(s, HK_S_NO_NEW_PRIVS, errno, "PR_SET_NO_NEW_PRIVS");
}

/* The kernel headers here may predate network and scope rules: the ABI is spelt out. */
struct ll_ruleset_attr {
  uint64_t handled_access_fs, handled_access_net, scoped;
};
struct ll_path_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));
struct ll_port_attr {
  uint64_t allowed_access, port;
};
#define LL_RULE_PATH 1
#define LL_RULE_PORT 2
/* The rights that apply to a file that is not a directory (execute, write, read, truncate, ioctl_dev). */
#define LL_FILE_RIGHTS ((1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 14) | (1ull << 15))

void hk_apply_landlock(struct hk_spec *s) {
  if (!s->ll_abi) return;
  struct ll_ruleset_attr attr = {s->ll_fs, s->ll_net, s->ll_scoped};
  size_t size = s->ll_abi >= 6 ? 24 : s->ll_abi >= 4 ? 16 : 8;
  int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0) hk_fail(s, HK_S_LANDLOCK, errno, "landlock_create_ruleset");
  for (size_t i = 0; i < s->n_ll_rules; i++) {
    const struct hk_ll_rule *r = &s->ll_rules[i];
    long rc;
    if (r->path) {
      struct ll_path_attr p = {.allowed_access = r->access, .parent_fd = open(r->path, O_PATH | O_CLOEXEC)};
      if (p.parent_fd < 0) hk_fail(s, HK_S_LANDLOCK, errno, r->path);
      /* A rule on a file takes only the rights a file has (the kernel refuses the others). */
      struct stat st;
      if (fstat(p.parent_fd, &st) < 0) hk_fail(s, HK_S_LANDLOCK, errno, r->path);
      if (!S_ISDIR(st.st_mode)) p.allowed_access &= LL_FILE_RIGHTS;
      rc = syscall(SYS_landlock_add_rule, rs, LL_RULE_PATH, &p, 0);
      close(p.parent_fd);
    } else {
      struct ll_port_attr p = {.allowed_access = r->access, .port = r->port};
      rc = syscall(SYS_landlock_add_rule, rs, LL_RULE_PORT, &p, 0);
    }
    if (rc < 0) hk_fail(s, HK_S_LANDLOCK, errno, r->path ? r->path : "port rule");
  }
  if (syscall(SYS_landlock_restrict_self, rs, 0) < 0) hk_fail(s, HK_S_LANDLOCK, errno, "landlock_restrict_self");
  close(rs);
}

void hk_apply_seccomp(struct hk_spec *s) {
  if (!s->filter.len) return;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &s->filter) < 0)
    hk_fail(s, HK_S_SECCOMP, errno, "seccomp");
}
