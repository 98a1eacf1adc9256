/*
 * Spec decoding. Caller side (hk_spawn checks the spec before it starts
 * anything) and monitor side (hakoniwa-init decodes it for the sandbox before
 * clone); both may allocate. Every length, string and count is checked here so
 * the sandbox side never meets a malformed value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core.h"

#define MAX_RECORDS 65536
#define ALLOWED_NS                                                                        \
  (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | \
   CLONE_NEWCGROUP | CLONE_NEWTIME)

struct reader {
  const uint8_t *p, *end;
  const char *why;
};

static int take(struct reader *r, void *out, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->why = "record is truncated";
    return -1;
  }
  memcpy(out, r->p, n);
  r->p += n;
  return 0;
}

static int u32(struct reader *r, uint32_t *v) { return take(r, v, 4); }
static int u64(struct reader *r, uint64_t *v) { return take(r, v, 8); }

/* A string is [u32 len][len bytes], the last byte NUL and no NUL before it. */
static int str(struct reader *r, const char **out) {
  uint32_t n;
  if (u32(r, &n) < 0) return -1;
  if (n == 0 || (size_t)(r->end - r->p) < n || r->p[n - 1] != 0 || memchr(r->p, 0, n - 1)) {
    r->why = "string is malformed";
    return -1;
  }
  *out = (const char *)r->p;
  r->p += n;
  return 0;
}

static int bytes(struct reader *r, const uint8_t **out, size_t *len) {
  uint32_t n;
  if (u32(r, &n) < 0) return -1;
  if ((size_t)(r->end - r->p) < n) {
    r->why = "byte field is truncated";
    return -1;
  }
  *out = r->p;
  *len = n;
  r->p += n;
  return 0;
}

/* A sandbox path: absolute, no empty, "." or ".." component. */
static int sandbox_path(const char *p) {
  if (p[0] != '/') return -1;
  for (const char *c = p + 1; *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n == 0 && e) return -1;
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return -1;
    c += n + (e ? 1 : 0);
  }
  return 0;
}

static int count_tags(const uint8_t *buf, size_t len, size_t counts[32], const char **why) {
  size_t off = 12, n = 0;
  while (off < len) {
    uint16_t tag;
    uint32_t rlen;
    if (len - off < 8) {
      *why = "record header is truncated";
      return -1;
    }
    memcpy(&tag, buf + off, 2);
    memcpy(&rlen, buf + off + 4, 4);
    if (tag == 0 || tag >= 32 || len - off - 8 < rlen) {
      *why = tag == 0 || tag >= 32 ? "unknown record tag" : "record overruns the spec";
      return -1;
    }
    counts[tag]++;
    off += 8 + rlen;
    if (++n > MAX_RECORDS) {
      *why = "too many records";
      return -1;
    }
  }
  return 0;
}

static int record(struct hk_spec *s, uint16_t tag, struct reader *r, size_t *ix) {
  uint32_t v;
  switch (tag) {
  case HK_T_NAMESPACES:
    if (u32(r, &s->ns_flags) < 0) return -1;
    /* Without a new user namespace (an OCI container of a privileged caller) the kernel asks for CAP_SYS_ADMIN. */
    if (s->ns_flags & ~(uint32_t)ALLOWED_NS) {
      r->why = "namespace flags are invalid";
      return -1;
    }
    return 0;
  case HK_T_UID_MAP: return str(r, &s->uid_map);
  case HK_T_GID_MAP: return str(r, &s->gid_map);
  case HK_T_HOSTNAME: return str(r, &s->hostname);
  case HK_T_CGROUP: {
    if (s->n_cgroups >= HK_CGROUP_MAX) {
      r->why = "too many cgroup hierarchies";
      return -1;
    }
    struct hk_cgroup *cg = &s->cgroups[s->n_cgroups];
    if (str(r, &cg->parent) < 0) return -1;
    if (cg->parent[0] != '/' || strlen(cg->parent) > 3000) {
      r->why = "cgroup directory is not absolute or too long";
      return -1;
    }
    s->n_cgroups++;
    return 0;
  }
  case HK_T_CGROUP_SET: {
    if (s->n_cgroup_sets >= HK_CGROUP_SETS_MAX) {
      r->why = "too many cgroup settings";
      return -1;
    }
    struct hk_cgroup_set *set = &s->cgroup_sets[s->n_cgroup_sets];
    if (u32(r, &set->index) < 0 || str(r, &set->file) < 0 || str(r, &set->value) < 0) return -1;
    if (set->index >= s->n_cgroups || strchr(set->file, '/') || set->file[0] == '.') {
      r->why = "cgroup setting names no cgroup or is not a plain file name";
      return -1;
    }
    s->n_cgroup_sets++;
    return 0;
  }
  case HK_T_ROOT: return u32(r, &s->root_flags) < 0 ? -1 : str(r, &s->root_src);
  case HK_T_MOUNT: {
    struct hk_mount *m = &s->mounts[ix[tag]++];
    if (u32(r, &m->kind) < 0 || u32(r, &m->flags) < 0 || u32(r, &m->mode) < 0 || u64(r, &m->size) < 0 || u64(r, &m->inodes) < 0 ||
        str(r, &m->src) < 0 || str(r, &m->dst) < 0 || bytes(r, &m->data, &m->data_len) < 0)
      return -1;
    m->src_fd = -1;
    if (m->kind < HK_M_BIND || m->kind > HK_M_MASK || sandbox_path(m->dst) < 0 || m->mode > 07777 ||
        ((m->kind == HK_M_BIND || m->kind == HK_M_MASK) && m->src[0] != '/') || (m->kind == HK_M_FS && !m->src[0]) ||
        (m->kind == HK_M_FS && m->data_len && (m->data[m->data_len - 1] != 0 || memchr(m->data, 0, m->data_len - 1)))) {
      r->why = "mount operation is invalid (kind, path or mode)";
      return -1;
    }
    return 0;
  }
  case HK_T_RLIMIT: {
    struct hk_rlimit *l = &s->rlimits[ix[tag]++];
    if (u32(r, &l->resource) < 0 || u64(r, &l->soft) < 0 || u64(r, &l->hard) < 0) return -1;
    if (l->resource >= RLIM_NLIMITS || l->soft > l->hard) {
      r->why = "rlimit is invalid";
      return -1;
    }
    return 0;
  }
  case HK_T_ENV: {
    const char *e;
    if (str(r, &e) < 0) return -1;
    if (!strchr(e, '=') || e[0] == '=') {
      r->why = "environment entry has no NAME=";
      return -1;
    }
    s->envp[ix[tag]++] = (char *)e;
    return 0;
  }
  case HK_T_ARG: return str(r, (const char **)&s->argv[ix[tag]++]);
  case HK_T_PROGRAM: return str(r, &s->program) < 0 ? -1 : str(r, &s->search_path);
  case HK_T_CWD: return str(r, &s->cwd);
  case HK_T_CREDS: return u32(r, &s->uid) < 0 || u32(r, &s->gid) < 0 ? -1 : u32(r, &s->cred_flags);
  case HK_T_GROUPS:
    if (u32(r, &s->n_groups) < 0) return -1;
    if (s->n_groups > HK_CRED_GROUPS_MAX) {
      r->why = "too many supplementary groups";
      return -1;
    }
    for (uint32_t i = 0; i < s->n_groups; i++)
      if (u32(r, &v) < 0) return -1;
      else s->groups[i] = (gid_t)v;
    return 0;
  case HK_T_STDIO:
    for (int i = 0; i < 3; i++)
      if (u32(r, &v) < 0) return -1;
      else if ((int32_t)v < 0) {
        r->why = "stdio fd is negative";
        return -1;
      } else s->stdio[i] = (int)v;
    return 0;
  case HK_T_SECCOMP: {
    const uint8_t *f;
    size_t n;
    if (bytes(r, &f, &n) < 0) return -1;
    if (n == 0 || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > BPF_MAXINSNS) {
      r->why = "seccomp program has a bad length";
      return -1;
    }
    s->filter.len = (unsigned short)(n / sizeof(struct sock_filter));
    s->filter.filter = (struct sock_filter *)f; /* not aligned in the spec: only the kernel reads it (it copies) */
    return 0;
  }
  case HK_T_CPU_LIMIT:
    if (u64(r, &s->cpu_limit_ns) < 0) return -1;
    if (s->cpu_limit_ns == 0 || s->cpu_limit_ns > (uint64_t)INT64_MAX) {
      r->why = "cpu limit is out of range";
      return -1;
    }
    return 0;
  case HK_T_NET_RELAY:
    if (u32(r, &s->relay_port) < 0 || str(r, &s->relay_socket) < 0) return -1;
    /* The path fits a sockaddr_un's sun_path (108 bytes with its NUL). */
    if (s->relay_port == 0 || s->relay_port > 65535 || sandbox_path(s->relay_socket) < 0 ||
        strlen(s->relay_socket) >= 108) {
      r->why = "net relay port or socket path is invalid";
      return -1;
    }
    return 0;
  case HK_T_START:
    if (str(r, &s->start_fifo) < 0) return -1;
    if (s->start_fifo[0] != '/') {
      r->why = "start fifo path is not absolute";
      return -1;
    }
    return 0;
  case HK_T_JOIN_NS: {
    if (s->n_joins >= sizeof(s->joins) / sizeof(s->joins[0])) {
      r->why = "too many namespaces to join";
      return -1;
    }
    struct hk_join *j = &s->joins[s->n_joins++];
    if (u32(r, &j->flag) < 0 || str(r, &j->path) < 0) return -1;
    if (__builtin_popcount(j->flag) != 1 || !(j->flag & ALLOWED_NS) || j->path[0] != '/') {
      r->why = "namespace to join is invalid";
      return -1;
    }
    return 0;
  }
  case HK_T_CAPS:
    s->has_caps = 1;
    for (int i = 0; i < 5; i++)
      if (u64(r, &s->caps[i]) < 0) return -1;
    return 0;
  case HK_T_OOM_SCORE:
    if (u32(r, &v) < 0) return -1;
    s->oom_score_adj = (int32_t)v;
    s->has_oom = 1;
    if (s->oom_score_adj < -1000 || s->oom_score_adj > 1000) {
      r->why = "oom_score_adj is out of range";
      return -1;
    }
    return 0;
  case HK_T_UMASK:
    if (u32(r, &s->umask_set) < 0) return -1;
    if (s->umask_set > 0777) {
      r->why = "umask is out of range";
      return -1;
    }
    s->umask_set |= 0x80000000u;
    return 0;
  case HK_T_CGROUP_JOIN:
    if (s->n_cgroup_joins >= HK_CGROUP_MAX) {
      r->why = "too many cgroups to join";
      return -1;
    }
    if (str(r, &s->cgroup_joins[s->n_cgroup_joins]) < 0) return -1;
    if (s->cgroup_joins[s->n_cgroup_joins][0] != '/' || strlen(s->cgroup_joins[s->n_cgroup_joins]) > 900) {
      r->why = "cgroup to join is not absolute or too long";
      return -1;
    }
    s->n_cgroup_joins++;
    return 0;
  case HK_T_FLAGS: return u32(r, &s->flags);
  case HK_T_SETSID: return u32(r, &s->setsid_mode);
  case HK_T_EVENTS:
    if (u32(r, &v) < 0) return -1;
    if ((int32_t)v < 0) {
      r->why = "events fd is negative";
      return -1;
    }
    s->events_fd = (int)v;
    return 0;

  case HK_T_LANDLOCK:
    return u32(r, &s->ll_abi) < 0 || u64(r, &s->ll_fs) < 0 || u64(r, &s->ll_net) < 0 ? -1
                                                                                     : u64(r, &s->ll_scoped);
  case HK_T_LL_PATH:
  case HK_T_LL_PORT: {
    struct hk_ll_rule *l = &s->ll_rules[ix[HK_T_LANDLOCK]++];
    if (u64(r, &l->access) < 0) return -1;
    if (tag == HK_T_LL_PATH) return str(r, &l->path);
    l->path = NULL;
    return u64(r, &l->port);
  }
  default: r->why = "unknown record tag"; return -1;
  }
}

int hk_spec_decode(const uint8_t *buf, size_t len, struct hk_spec *s, const char **why) {
  uint32_t magic, version, total;
  size_t counts[32] = {0}, ix[32] = {0};
  memset(s, 0, sizeof(*s));
  s->stdio[0] = 0, s->stdio[1] = 1, s->stdio[2] = 2;
  s->report_fd = s->sync_fd = s->events_fd = -1;
  if (len < 12 || ((uintptr_t)buf & 7)) {
    *why = len < 12 ? "spec is shorter than its header" : "spec buffer is not 8-byte aligned";
    return -1;
  }
  memcpy(&magic, buf, 4), memcpy(&version, buf + 4, 4), memcpy(&total, buf + 8, 4);
  if (magic != HK_SPEC_MAGIC || version != HK_SPEC_VERSION || total != len) {
    *why = magic != HK_SPEC_MAGIC ? "bad magic" : version != HK_SPEC_VERSION ? "unsupported spec version"
                                                                             : "length does not match header";
    return -1;
  }
  if (count_tags(buf, len, counts, why) < 0) return -1;
  s->mounts = calloc(counts[HK_T_MOUNT] + 1, sizeof(*s->mounts));
  s->rlimits = calloc(counts[HK_T_RLIMIT] + 1, sizeof(*s->rlimits));
  s->envp = calloc(counts[HK_T_ENV] + 1, sizeof(char *));
  s->argv = calloc(counts[HK_T_ARG] + 1, sizeof(char *));
  s->ll_rules = calloc(counts[HK_T_LL_PATH] + counts[HK_T_LL_PORT] + 1, sizeof(*s->ll_rules));
  if (!s->mounts || !s->rlimits || !s->envp || !s->argv || !s->ll_rules) {
    *why = "out of memory";
    hk_spec_free(s);
    return -1;
  }
  s->n_mounts = counts[HK_T_MOUNT], s->n_rlimits = counts[HK_T_RLIMIT];
  s->n_env = counts[HK_T_ENV], s->n_args = counts[HK_T_ARG];
  s->n_ll_rules = counts[HK_T_LL_PATH] + counts[HK_T_LL_PORT];
  for (size_t off = 12; off < len;) {
    uint16_t tag;
    uint32_t rlen;
    memcpy(&tag, buf + off, 2), memcpy(&rlen, buf + off + 4, 4);
    struct reader r = {buf + off + 8, buf + off + 8 + rlen, NULL};
    if (record(s, tag, &r, ix) < 0 || r.p != r.end) {
      *why = r.why ? r.why : "record has trailing bytes";
      hk_spec_free(s);
      return -1;
    }
    off += 8 + rlen;
  }
  int none = !s->ns_flags && !(s->flags & HK_F_EXEC); /* an exec joins every namespace and creates none */
  if (!s->program || s->n_args == 0 || none || !s->root_src || !s->cwd || sandbox_path(s->cwd) < 0) {
    *why = !s->program || !s->n_args ? "no program" : none ? "no namespaces" : !s->root_src ? "no root" : "bad cwd";
    hk_spec_free(s);
    return -1;
  }
  if (s->n_groups && !(s->cred_flags & HK_CRED_SETGROUPS)) {
    *why = "supplementary groups without HK_CRED_SETGROUPS (setgroups would be denied)";
    hk_spec_free(s);
    return -1;
  }
  if (s->relay_port && !(s->ns_flags & CLONE_NEWNET)) {
    *why = "a net relay without a network namespace of its own";
    hk_spec_free(s);
    return -1;
  }
  /* A sandbox's init is PID 1 of a pid namespace of its own and builds the root in a mount namespace of its own; an
   * exec joins both (and creates nothing). */
  int exec = (s->flags & HK_F_EXEC) != 0;
  uint32_t own = CLONE_NEWNS | CLONE_NEWPID, joined = 0;
  for (uint32_t i = 0; i < s->n_joins; i++) joined |= s->joins[i].flag;
  if (exec ? (s->ns_flags || (joined & own) != own) : ((s->ns_flags & own) != own || (joined & own))) {
    *why = exec ? "an exec creates no namespace and joins the mount and pid ones" : "namespace flags are invalid";
    hk_spec_free(s);
    return -1;
  }
  if ((s->start_fifo && (exec || !(s->flags & HK_F_DETACH))) || (!s->start_fifo && (s->flags & HK_F_DETACH) && !exec)) {
    *why = "a start fifo goes with HK_F_DETACH (and no HK_F_EXEC), and only with it";
    hk_spec_free(s);
    return -1;
  }
  for (uint32_t i = 0; i < s->n_joins; i++)
    if (s->joins[i].flag & s->ns_flags) {
      *why = "a namespace is both joined and new";
      hk_spec_free(s);
      return -1;
    }
  /* A detached init outlives its monitor: nobody would remove a cgroup the monitor made (an OCI runtime makes and
   * removes its container's, HK_T_CGROUP_JOIN). */
  if (s->n_cgroups && (s->flags & (HK_F_DETACH | HK_F_EXEC))) {
    *why = "a detached sandbox or an exec joins cgroups and makes none";
    hk_spec_free(s);
    return -1;
  }
  if ((s->n_ll_rules || s->ll_fs || s->ll_net || s->ll_scoped) && !s->ll_abi) {
    *why = "Landlock rules without a Landlock record";
    hk_spec_free(s);
    return -1;
  }
  return 0;
}

void hk_spec_free(struct hk_spec *s) {
  free(s->mounts), free(s->rlimits), free(s->envp), free(s->argv), free(s->ll_rules);
  s->mounts = NULL, s->rlimits = NULL, s->envp = NULL, s->argv = NULL, s->ll_rules = NULL;
}
