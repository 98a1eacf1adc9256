/**
 * linux.resources to the files of the container's cgroup, as runc writes them (its fs and fs2 drivers): for each
 * controller, the cgroup v1 files and the cgroup v2 ones. src/cgroup/named.ts makes the cgroup and writes them.
 *
 * @module
 */
import type { ControllerFiles } from "../cgroup/named.ts";
import type { OciResources } from "./config.ts";

/**
 * The cgroup writes of `r`, in the order they must happen (memory before memory+swap on v1).
 *
 * @example
 * ```ts
 * import { resourceFiles } from "./resources.ts";
 * const files = resourceFiles({
 *   memory: { limit: 64 << 20, reservation: null, swap: null, swappiness: null },
 *   cpu: { shares: null, quota: null, period: null, cpus: null, mems: null },
 *   pids: 32,
 * });
 * console.log(files.map((f) => f.controller)); // ["memory", "pids"]
 * ```
 */
export function resourceFiles(r: OciResources): ControllerFiles[] {
  const out: ControllerFiles[] = [];
  const m = r.memory;
  if (m.limit !== null || m.reservation !== null || m.swap !== null || m.swappiness !== null) {
    const v1: [string, string][] = [], v2: [string, string][] = [];
    if (m.limit !== null) v1.push(["memory.limit_in_bytes", String(m.limit)]), v2.push(["memory.max", String(m.limit)]);
    // OCI's swap is memory + swap (v1's memsw); v2 limits the swap alone.
    if (m.swap !== null) {
      v1.push(["memory.memsw.limit_in_bytes", String(m.swap)]);
      if (m.limit !== null) v2.push(["memory.swap.max", String(Math.max(0, m.swap - m.limit))]);
    }
    if (m.reservation !== null) {
      v1.push(["memory.soft_limit_in_bytes", String(m.reservation)]);
      v2.push(["memory.low", String(m.reservation)]);
    }
    if (m.swappiness !== null) v1.push(["memory.swappiness", String(m.swappiness)]);
    out.push({ controller: "memory", v1, v2 });
  }
  const c = r.cpu;
  if (c.shares !== null || c.quota !== null || c.period !== null) {
    const v1: [string, string][] = [], v2: [string, string][] = [];
    if (c.shares !== null) {
      v1.push(["cpu.shares", String(c.shares)]);
      // runc's conversion of shares [2, 262144] to a weight [1, 10000].
      v2.push(["cpu.weight", String(1 + Math.floor(((c.shares - 2) * 9999) / 262142))]);
    }
    if (c.period !== null) v1.push(["cpu.cfs_period_us", String(c.period)]);
    if (c.quota !== null) v1.push(["cpu.cfs_quota_us", String(c.quota)]);
    if (c.quota !== null || c.period !== null) {
      v2.push(["cpu.max", `${c.quota ?? "max"} ${c.period ?? 100_000}`]);
    }
    out.push({ controller: "cpu", v1, v2 });
  }
  if (c.cpus !== null || c.mems !== null) {
    const files: [string, string][] = [
      ...(c.cpus !== null ? [["cpuset.cpus", c.cpus] as [string, string]] : []),
      ...(c.mems !== null ? [["cpuset.mems", c.mems] as [string, string]] : []),
    ];
    out.push({ controller: "cpuset", v1: files, v2: files });
  }
  if (r.pids !== null) {
    out.push({ controller: "pids", v1: [["pids.max", String(r.pids)]], v2: [["pids.max", String(r.pids)]] });
  }
  return out;
}
