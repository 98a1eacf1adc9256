/**
 * Readers of policy values that several keys share (id maps, directory modes, sizes): each gives the value or fails
 * through the cursor, which names the file, line, column and key.
 *
 * @module
 */
import { type IdMapEntry, MAX_ID } from "../plan/idmap.ts";
import { MAX_TMPFS_SIZE, parseSize } from "../plan/plan.ts";
import type { KeyPath, PolicyCursor } from "./check.ts";

/**
 * An id map (`uid_map`, `gid_map`): an array of `{container, host, count}` tables within the id range.
 *
 * @example
 * ```ts ignore
 * const maps = idMaps(cursor, "uid_map", [{ container: 0, host: 1000 }]);
 * ```
 */
export function idMaps(c: PolicyCursor, key: string, v: unknown): IdMapEntry[] | undefined {
  if (v === undefined) return undefined;
  return c.array([key], v, "an array of tables").map((e, i) => {
    const t = c.table([key, i], e, ["container", "host", "count"]);
    const container = c.int([key, i, "container"], t.container, 0, MAX_ID);
    const host = c.int([key, i, "host"], t.host, 0, MAX_ID);
    const count = t.count === undefined ? 1 : c.int([key, i, "count"], t.count, 1, MAX_ID);
    if (container + count - 1 > MAX_ID || host + count - 1 > MAX_ID) {
      c.fail([key, i, "count"], `the range passes the largest id ${MAX_ID}`);
    }
    return { container, host, count };
  });
}

/**
 * Permission bits of a directory: set-uid and set-gid are refused, the sandbox never makes set-id files.
 *
 * @example
 * ```ts ignore
 * const mode = dirMode(cursor, ["mounts", 0, "mode"], 0o755);
 * ```
 */
export function dirMode(c: PolicyCursor, path: KeyPath, v: unknown): number {
  const mode = c.int(path, v, 0, 0o7777);
  if (mode & 0o6000) c.fail(path, `set-uid and set-gid bits are not allowed, got 0o${mode.toString(8)}`);
  return mode;
}

/**
 * A size: an integer of bytes, or a string with a K, M or G suffix, from `min` to `max`.
 *
 * @example
 * ```ts ignore
 * const bytes = size(cursor, ["limits", "memory"], "64M");
 * ```
 */
export function size(c: PolicyCursor, path: KeyPath, v: unknown, min = 1, max = MAX_TMPFS_SIZE): number {
  if (typeof v === "string") {
    const n = parseSize(v);
    if (n === null || n < min || n > max) {
      c.fail(
        path,
        `expected a size from ${min} bytes to ${max} (bytes, or a string with K, M, G), got ${JSON.stringify(v)}`,
      );
    }
    return n;
  }
  return c.int(path, v, min, max);
}

/**
 * A tmpfs size (see {@link size}), at most the largest tmpfs.
 *
 * @example
 * ```ts ignore
 * const bytes = tmpfsSize(cursor, ["tmpfs_size"], "256M");
 * ```
 */
export function tmpfsSize(c: PolicyCursor, path: KeyPath, v: unknown): number {
  return size(c, path, v);
}
