/**
 * Checks of the values a sandbox's settings take (`Container`'s methods): each gives the value, or throws a
 * UsageError naming the method or setting and what it expected.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { parseSize } from "./plan.ts";
import { MAX_RLIMIT } from "./rlimit.ts";

/**
 * A size in bytes: a whole number, or text with a K, M or G suffix (1024-based), at least `min`.
 *
 * @example
 * ```ts
 * import { checkSize } from "./settings_checks.ts";
 * console.log(checkSize("limitMemory", "64M")); // 67108864
 * ```
 */
export function checkSize(what: string, v: number | string, min = 0): number {
  const n = typeof v === "string" ? parseSize(v) : v;
  if (n === null || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(
      `${what}: expected a size of at least ${min} bytes (e.g. 64M), got ${JSON.stringify(v)}`,
      what,
    );
  }
  return n;
}

/**
 * A whole number from `min` to `max` (a limit, an id, a count).
 *
 * @example
 * ```ts
 * import { checkCount } from "./settings_checks.ts";
 * console.log(checkCount("uid", 1000, 0, 0xfffffffe)); // 1000
 * ```
 */
export function checkCount(what: string, v: number, min = 0, max = MAX_RLIMIT): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`${what}: expected a whole number from ${min} to ${max}, got ${v}`, what);
  }
  return v;
}

/**
 * Permission bits without set-uid and set-gid: the sandbox never makes set-id files.
 *
 * @example
 * ```ts
 * import { checkMode } from "./settings_checks.ts";
 * console.log(checkMode("dir mode", 0o700).toString(8)); // "700"
 * ```
 */
export function checkMode(what: string, mode: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o1777) {
    throw new UsageError(
      `${what}: expected permission bits from 0 to 0o1777 (no set-uid or set-gid), got 0o${mode.toString(8)}`,
      what,
    );
  }
  return mode;
}

/**
 * A bind's host source must be absolute: a relative one would depend on the caller's working directory.
 *
 * @example
 * ```ts
 * import { checkSource } from "./settings_checks.ts";
 * checkSource("bindRo", "/usr"); // fine; "usr" would throw a UsageError
 * ```
 */
export function checkSource(method: string, source: string): void {
  if (typeof source !== "string" || !source.startsWith("/")) {
    throw new UsageError(`${method}: the source must be an absolute host path, got ${JSON.stringify(source)}`, method);
  }
}
