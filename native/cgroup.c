/*
 * Monitor side: the sandbox's own cgroup. For each hierarchy the spec names (HK_T_CGROUP: a directory beneath the
 * caller's cgroup, or one delegated to it), the monitor makes hakoniwa-<pid>/ with the limits (HK_T_CGROUP_SET) and
 * a leaf sandbox/ in it, and moves the sandbox's init into the leaf before it runs anything. The limits sit one
 * level above the leaf, which becomes the root of the sandbox's cgroup namespace: a payload that mounts cgroupfs
 * sees only the leaf, and whatever it writes there cannot lift a limit of its parent. Once the sandbox's init is
 * gone, the monitor reads the usage (CPU, peak memory, out-of-memory kills) of the whole sandbox, reports it, and
 * removes the tree, sub-cgroups the payload made included. cgroup v1 and v2 file names are both tried.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

#define PATH_CAP 4096

static void join(char *out, const char *dir, const char *a, const char *b) {
  hk_copy(out, PATH_CAP, dir, "/", a);
  if (b) hk_copy(out + strlen(out), PATH_CAP - strlen(out), "/", b, NULL);
}

/* A whole small file into buf (NUL-terminated); -1 when it cannot be read. */
static int read_text(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  size_t got = 0;
  ssize_t n;
  while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0) got += (size_t)n;
  close(fd);
  buf[got] = 0;
  return 0;
}

/* Steps *line through the lines of buf (NULL: the first); false after the last. */
static int line_next(const char **line, const char *buf) {
  if (!*line) return (*line = buf), 1;
  const char *nl = strchr(*line, '\n');
  if (!nl || !nl[1]) return (*line = NULL), 0;
  return (*line = nl + 1), 1;
}

/* The number after "key " in a "key value" file, or the whole file's number when key is NULL; -1 if absent. */
static int64_t stat_value(const char *dir, const char *file, const char *key) {
  char path[PATH_CAP], buf[4096];
  join(path, dir, file, NULL);
  if (read_text(path, buf, sizeof(buf)) < 0) return -1;
  const char *p = buf;
  if (key) {
    size_t k = strlen(key);
    for (p = NULL; line_next(&p, buf);) {
      if (strncmp(p, key, k) == 0 && p[k] == ' ') break;
    }
    if (!p) return -1;
    p += k + 1;
  }
  if (*p < '0' || *p > '9') return -1;
  return strtoll(p, NULL, 10);
}

/* The cgroups of monitors that are gone (SIGKILLed before they could remove theirs): hakoniwa-N with no process N. */
static void sweep(const char *parent) {
  DIR *d = opendir(parent);
  if (!d) return;
  struct dirent *e;
  char path[PATH_CAP];
  while ((e = readdir(d))) {
    if (e->d_type != DT_DIR || strncmp(e->d_name, "hakoniwa-", 9) != 0) continue;
    char *end;
    long n = strtol(e->d_name + 9, &end, 10);
    if (*end || n <= 0 || kill((pid_t)n, 0) == 0 || errno != ESRCH) continue;
    join(path, parent, e->d_name, NULL);
    hk_cgroup_remove_tree(path);
  }
  closedir(d);
}

int hk_cgroup_enter(struct hk_spec *s, pid_t pid, char *failed, size_t cap) {
  char name[64], path[PATH_CAP], num[24];
  /* The monitor's pid: unique among live monitors (the cgroups of dead ones are swept). */
  hk_copy(name, sizeof(name), "hakoniwa-", hk_decimal(getpid(), num), NULL);
  for (size_t i = 0; i < s->n_cgroups; i++) {
    struct hk_cgroup *cg = &s->cgroups[i];
    sweep(cg->parent);
    join(cg->made, cg->parent, name, NULL);
    if (mkdir(cg->made, 0755) < 0 && errno != EEXIST) return hk_copy(failed, cap, cg->made, NULL, NULL), -1;
    cg->made_ok = 1;
    for (size_t j = 0; j < s->n_cgroup_sets; j++) {
      if (s->cgroup_sets[j].index != i) continue;
      join(path, cg->made, s->cgroup_sets[j].file, NULL);
      if (hk_write_text(path, s->cgroup_sets[j].value) < 0) return hk_copy(failed, cap, path, NULL, NULL), -1;
    }
    join(path, cg->made, "sandbox", NULL);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return hk_copy(failed, cap, path, NULL, NULL), -1;
    /* A new v1 cpuset cgroup has no CPUs and no memory nodes: the leaf gets its parent's. */
    static const char *const inherited[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t k = 0; k < 2; k++) {
      char value[1024];
      join(path, cg->made, inherited[k], NULL);
      if (read_text(path, value, sizeof(value)) < 0 || value[0] == 0 || value[0] == '\n') continue;
      join(path, cg->made, "sandbox", inherited[k]);
      if (hk_write_text(path, value) < 0) return hk_copy(failed, cap, path, NULL, NULL), -1;
    }
    join(path, cg->made, "sandbox", "cgroup.procs");
    if (hk_write_text(path, hk_decimal(pid, num)) < 0) return hk_copy(failed, cap, path, NULL, NULL), -1;
  }
  return 0;
}

/* cgroup v1 counts an out-of-memory kill in the victim's own cgroup: the sum over dir and every cgroup beneath it
 * (payload-made ones too). */
static int64_t v1_oom_kills(const char *dir, int depth) {
  int64_t n = stat_value(dir, "memory.oom_control", "oom_kill");
  if (n < 0) n = 0;
  DIR *d = depth < 32 ? opendir(dir) : NULL;
  if (!d) return n;
  struct dirent *e;
  char path[PATH_CAP];
  while ((e = readdir(d))) {
    if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    join(path, dir, e->d_name, NULL);
    n += v1_oom_kills(path, depth + 1);
  }
  closedir(d);
  return n;
}

void hk_cgroup_usage(const struct hk_spec *s, struct hk_record *rec) {
  int64_t cpu_user = -1, cpu_sys = -1, peak = -1, ooms = 0;
  for (size_t i = 0; i < s->n_cgroups; i++) {
    const char *d = s->cgroups[i].made;
    if (!s->cgroups[i].made_ok) continue;
    int64_t v;
    /* v2 */
    if ((v = stat_value(d, "cpu.stat", "user_usec")) >= 0) cpu_user = v;
    if ((v = stat_value(d, "cpu.stat", "system_usec")) >= 0) cpu_sys = v;
    if ((v = stat_value(d, "memory.peak", NULL)) >= 0 && v > peak) peak = v;
    if ((v = stat_value(d, "memory.events", "oom_kill")) > 0) ooms += v;
    /* v1 */
    if ((v = stat_value(d, "cpuacct.usage_user", NULL)) >= 0) cpu_user = v / 1000;
    if ((v = stat_value(d, "cpuacct.usage_sys", NULL)) >= 0) cpu_sys = v / 1000;
    if ((v = stat_value(d, "memory.max_usage_in_bytes", NULL)) > peak) peak = v;
    ooms += v1_oom_kills(d, 0);
  }
  memset(rec, 0, sizeof(*rec));
  rec->kind = HK_REC_CGROUP;
  rec->status = (int32_t)ooms;
  rec->utime_us = cpu_user, rec->stime_us = cpu_sys;
  rec->maxrss_kb = peak >= 0 ? peak / 1024 : -1;
}

void hk_cgroup_remove(const struct hk_spec *s) {
  for (size_t i = 0; i < s->n_cgroups; i++)
    if (s->cgroups[i].made_ok) hk_cgroup_remove_tree(s->cgroups[i].made);
}
