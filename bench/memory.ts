/**
 * Memory of a running sandbox's own processes, from /proc: the process
 * tree under a pid, summed over every process but the command itself.
 *
 * @module
 */

/** Memory of a set of processes, in KiB. */
export interface TreeMemory {
  /** Resident set size, summed. */
  rssKb: number;
  /** Proportional set size (shared pages divided by their sharers), summed. */
  pssKb: number;
  /** Private pages (clean and dirty): what the processes cost on their own, summed. */
  privateKb: number;
  /** Names of the processes counted. */
  names: string[];
}

function children(pid: number): number[] {
  try {
    const tasks = [...Deno.readDirSync(`/proc/${pid}/task`)].map((t) => t.name);
    return tasks.flatMap((t) =>
      Deno.readTextFileSync(`/proc/${pid}/task/${t}/children`).trim().split(/\s+/).filter(Boolean).map(Number)
    );
  } catch {
    return [];
  }
}

function rollup(pid: number): { rss: number; pss: number; priv: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { rss: field("Rss"), pss: field("Pss"), priv: field("Private_Clean") + field("Private_Dirty") };
}

/**
 * Sums the memory of `pid` and its descendants, leaving out processes
 * named `exclude`.
 *
 * @example
 * ```ts ignore
 * const m = treeMemory(Deno.pid, "sleep");
 * ```
 */
export function treeMemory(pid: number, exclude: string): TreeMemory {
  const out: TreeMemory = { rssKb: 0, pssKb: 0, privateKb: 0, names: [] };
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    todo.push(...children(p));
    try {
      const comm = Deno.readTextFileSync(`/proc/${p}/comm`).trim();
      if (comm === exclude) continue;
      const m = rollup(p);
      out.rssKb += m.rss;
      out.pssKb += m.pss;
      out.privateKb += m.priv;
      out.names.push(comm);
    } catch { /* gone */ }
  }
  return out;
}

/**
 * Starts a sandbox running `/bin/sleep`, samples its tree 200 ms after it
 * started, and waits for it to end.
 *
 * @example
 * ```ts ignore
 * const [name, m] = await sandboxMemory("x", (onStart) => run(onStart));
 * ```
 */
export async function sandboxMemory(
  name: string,
  start: (onStart: (s: { pid: number }) => void) => Promise<void>,
): Promise<[string, TreeMemory]> {
  let sample: Promise<TreeMemory> | undefined;
  const done = start((s) => {
    sample = new Promise((resolve) => setTimeout(() => resolve(treeMemory(s.pid, "sleep")), 200));
  });
  await done;
  if (!sample) throw new Error(`bench: ${name} never started`);
  return [name, await sample];
}
