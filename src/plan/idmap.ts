/**
 * uid/gid maps: which ids inside the sandbox stand for which ids outside.
 *
 * @module
 */

/** One line of /proc/PID/uid_map or gid_map. */
export interface IdMapEntry {
  /** First id inside the sandbox. */
  container: number;
  /** First id on the host. */
  host: number;
  /** How many ids. */
  count: number;
}

/** Largest id a map may name (ids are 32-bit, 2^32-1 is reserved). */
export const MAX_ID = 0xfffffffe;

/**
 * The default map: the id inside stands for the caller's own id outside.
 * This is the only map an unprivileged process may write itself.
 *
 * @example
 * ```ts
 * import { singleIdMap } from "./idmap.ts";
 * console.log(singleIdMap(0, 1000)); // [{ container: 0, host: 1000, count: 1 }]
 * ```
 */
export function singleIdMap(inside: number, host: number): IdMapEntry[] {
  return [{ container: inside, host, count: 1 }];
}

/**
 * The text written to /proc/PID/{uid,gid}_map.
 *
 * @example
 * ```ts
 * import { formatIdMap } from "./idmap.ts";
 * console.log(formatIdMap([{ container: 0, host: 1000, count: 1 }])); // "0 1000 1\n"
 * ```
 */
export function formatIdMap(entries: IdMapEntry[]): string {
  return entries.map((e) => `${e.container} ${e.host} ${e.count}\n`).join("");
}

/** Whether `id` is inside the container side of the map. */
export function mapsInside(entries: IdMapEntry[], id: number): boolean {
  return entries.some((e) => id >= e.container && id < e.container + e.count);
}
