/**
 * linux.resources to the files of the container's cgroup, as runc writes them (its fs and fs2 drivers): for each
 * controller, the cgroup v1 files and the cgroup v2 ones. src/cgroup/named.ts makes the cgroup and writes them.
 *
 * @module
 */
import type { ControllerFiles } from "../cgroup/named.ts";
import { OciConfigError, type OciResources } from "./config.ts";

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

/**
 * A cgroupsPath in systemd's form (`slice:prefix:name`, as callers give it with `--systemd-cgroup`) as the cgroup
 * path systemd would make, by runc's rules: the slice expanded through its parents (`a-b.slice` is
 * `/a.slice/a-b.slice`; none is `system.slice`), then the unit `prefix-name.scope` (or the slice `name`). A path
 * without a colon is returned as it is; a malformed one is an OciConfigError naming `linux.cgroupsPath`.
 *
 * @example
 * ```ts
 * import { cgroupfsPath } from "./resources.ts";
 * console.log(cgroupfsPath("kubepods-besteffort.slice:cri-containerd:abc"));
 * // "/kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope"
 * ```
 */
export function cgroupfsPath(path: string): string {
  if (!path.includes(":")) return path;
  const parts = path.split(":");
  const bad = (why: string) => new OciConfigError("linux.cgroupsPath", `${JSON.stringify(path)}: ${why}`);
  if (parts.length !== 3 || !parts[2]) throw bad("expected slice:prefix:name");
  const [slice, prefix, name] = parts;
  const expand = (s: string) => {
    if (s === "-.slice") return "";
    if (!s.endsWith(".slice") || s.includes("/") || s.slice(0, -6).split("-").some((p) => !p)) {
      throw bad(`${JSON.stringify(s)} is not a slice name`);
    }
    const words = s.slice(0, -6).split("-");
    return words.map((_, i) => `/${words.slice(0, i + 1).join("-")}.slice`).join("");
  };
  const unit = name.endsWith(".slice") ? expand(name).split("/").at(-1)! : `${prefix ? `${prefix}-` : ""}${name}.scope`;
  return `${expand(slice || "system.slice")}/${unit}`;
}
