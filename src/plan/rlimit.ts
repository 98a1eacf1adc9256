/**
 * Resource limits by name.
 *
 * @module
 */

/** RLIMIT_* numbers of Linux (x86_64 and aarch64 agree). */
export const RLIMITS = {
  as: 9,
  core: 4,
  cpu: 0,
  fsize: 1,
  nofile: 7,
  nproc: 6,
} as const;

/** A limit name: `as` (bytes), `core` (bytes), `cpu` (seconds), `fsize` (bytes), `nofile`, `nproc`. */
export type RlimitName = keyof typeof RLIMITS;

/** Every limit name. */
export const RLIMIT_NAMES = Object.keys(RLIMITS) as RlimitName[];

/** Largest value a limit takes (RLIM_INFINITY - 1, kept exact in a double). */
export const MAX_RLIMIT = Number.MAX_SAFE_INTEGER;

/** Whether a string is a limit name. */
export function isRlimitName(name: string): name is RlimitName {
  return Object.hasOwn(RLIMITS, name);
}
