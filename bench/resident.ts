/**
 * This process's resident memory as /proc/self/smaps splits it, for
 * bench/profile_memory.ts. Imported first there, so that its evaluation
 * records the resident set once Deno has loaded the whole module graph and
 * before any other module is evaluated.
 *
 * @module
 */

/** Resident MiB by kind. */
export interface Resident {
  /** Pages of the deno binary: its code and read-only data, paged in the first time a feature runs. */
  deno: number;
  /** Anonymous memory: the V8 heap, malloc, stacks. */
  anon: number;
  /** Other files: the caches Deno maps, shared libraries, the memfds. */
  files: number;
}

/**
 * Reads /proc/self/smaps now.
 *
 * @example
 * ```ts
 * import { resident } from "./resident.ts";
 * console.log(resident().deno > 0); // true
 * ```
 */
export function resident(): Resident {
  const sum: Resident = { deno: 0, anon: 0, files: 0 };
  let where: keyof Resident = "anon";
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) where = mapping[1] === Deno.execPath() ? "deno" : /^(\[.*\])?$/.test(mapping[1]) ? "anon" : "files";
    else if (line.startsWith("Rss:")) sum[where] += Number(line.split(/\s+/)[1]) / 1024;
  }
  return sum;
}

resident(); // the first reading pages in what reading takes (file ops, the regular expression): not the program's

/** The resident set when this module was evaluated: the whole graph loaded, nothing else evaluated yet. */
export const AT_FIRST_EVALUATION: Resident = resident();
