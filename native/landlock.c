/*
 * Parent side: asks the running kernel which Landlock ABI it offers, so
 * TypeScript can decide which restrictions are enforceable before clone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

int32_t hk_landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (v >= 0) return (int32_t)v;
  /* ENOSYS: not built in; EOPNOTSUPP: built but disabled at boot. Both mean "none". */
  return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : -errno;
}
