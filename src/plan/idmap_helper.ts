/**
 * Id maps that an unprivileged caller cannot write itself (several ranges,
 * or ids other than its own) go through the system's setuid helpers
 * newuidmap and newgidmap (Debian package `uidmap`), which allow the ranges
 * /etc/subuid and /etc/subgid grant the caller. The native core holds the
 * child until they ran (HK_F_HOLD, hk_release).
 *
 * @module
 */
import { readHostTextSync } from "../native/safe_open.ts";
import { HakoniwaError } from "../common/errors.ts";
import { formatIdMap, type IdMapEntry } from "./idmap.ts";
import type { Plan } from "./types.ts";

/** Where the helpers and their grants live; tests may point elsewhere. */
export interface HelperHost {
  /** The caller's uid and gid. */
  uid: number;
  gid: number;
  /** /etc/passwd, /etc/subuid, /etc/subgid. */
  passwd: string;
  subuid: string;
  subgid: string;
  /** Directories searched for newuidmap and newgidmap. */
  path: string[];
}

/**
 * The calling process's {@link HelperHost}.
 *
 * @example
 * ```ts
 * import { currentHelperHost } from "./idmap_helper.ts";
 * console.log(currentHelperHost().subuid); // "/etc/subuid"
 * ```
 */
export function currentHelperHost(): HelperHost {
  return {
    uid: Deno.uid() ?? 0,
    gid: Deno.gid() ?? 0,
    passwd: "/etc/passwd",
    subuid: "/etc/subuid",
    subgid: "/etc/subgid",
    path: ["/usr/bin", "/bin", "/usr/sbin", "/sbin"],
  };
}

/**
 * Whether the maps need the helpers: an unprivileged caller may only map
 * its own id, once.
 *
 * @example
 * ```ts
 * import { needsIdMapHelper } from "./idmap_helper.ts";
 * const own = [{ container: 0, host: 1000, count: 1 }];
 * console.log(needsIdMapHelper(own, 1000, 1000)); // false
 * ```
 */
export function needsIdMapHelper(map: IdMapEntry[], hostId: number, callerUid: number): boolean {
  if (callerUid === 0) return false;
  return !(map.length === 1 && map[0].host === hostId && map[0].count === 1);
}

function readLines(path: string): string[] {
  try {
    return readHostTextSync(path).split("\n");
  } catch {
    return [];
  }
}

function find(host: HelperHost, name: string): string | null {
  for (const dir of host.path) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not there */ }
  }
  return null;
}

/**
 * The ranges of a subordinate id file granted to the user (by name or uid).
 *
 * @example
 * ```ts ignore
 * grantedRanges("/etc/subuid", "alice", 1000); // [{ start: 100000, count: 65536 }]
 * ```
 */
export function grantedRanges(file: string, user: string | null, uid: number): { start: number; count: number }[] {
  return readLines(file).map((l) => l.trim().split(":")).filter((f) =>
    f.length === 3 && (f[0] === user || f[0] === String(uid))
  ).map((f) => ({ start: Number(f[1]), count: Number(f[2]) }));
}

/**
 * 1.x's `--userns auto`: the caller is 0 inside, and 1 onwards is the first
 * range /etc/subuid (/etc/subgid) grants the caller, by name or uid. A
 * caller without a line gets only its own id as 0. A root caller writes
 * these maps itself; anyone else's go through newuidmap and newgidmap.
 *
 * @example
 * ```ts
 * import { autoIdMaps } from "./idmap_helper.ts";
 * const host = { uid: 1000, gid: 1000, passwd: "/dev/null", subuid: "/dev/null", subgid: "/dev/null", path: [] };
 * console.log(autoIdMaps(host).uidMaps); // [{ container: 0, host: 1000, count: 1 }]
 * ```
 */
export function autoIdMaps(host: HelperHost = currentHelperHost()): { uidMaps: IdMapEntry[]; gidMaps: IdMapEntry[] } {
  const user = readLines(host.passwd).map((l) => l.split(":")).find((f) => f[2] === String(host.uid))?.[0] ?? null;
  const maps = (file: string, own: number): IdMapEntry[] => {
    const granted = grantedRanges(file, user, host.uid).find((g) =>
      Number.isSafeInteger(g.start) && Number.isSafeInteger(g.count) && g.count > 0
    );
    return [
      { container: 0, host: own, count: 1 },
      ...granted ? [{ container: 1, host: granted.start, count: granted.count }] : [],
    ];
  };
  return { uidMaps: maps(host.subuid, host.uid), gidMaps: maps(host.subgid, host.gid) };
}

function check(kind: "uid" | "gid", map: IdMapEntry[], own: number, host: HelperHost, user: string | null): string {
  const tool = kind === "uid" ? "newuidmap" : "newgidmap";
  const file = kind === "uid" ? host.subuid : host.subgid;
  const path = find(host, tool);
  if (!path) {
    throw new HakoniwaError(
      `${kind}Map: mapping ${kind}s other than your own needs ${tool} (Debian package uidmap), ` +
        `which is not installed`,
    );
  }
  const granted = grantedRanges(file, user, host.uid);
  for (const m of map) {
    if (m.count === 1 && m.host === own) continue;
    const ok = granted.some((g) => m.host >= g.start && m.host + m.count <= g.start + g.count);
    if (!ok) {
      throw new HakoniwaError(
        `${kind}Map: ${file} grants ${user ?? host.uid} no range holding host ${kind}s ${m.host}..${
          m.host + m.count - 1
        }${
          granted.length ? ` (granted: ${granted.map((g) => `${g.start}..${g.start + g.count - 1}`).join(", ")})` : ""
        }`,
      );
    }
  }
  return path;
}

/** What {@link prepareIdMapHelpers} found: the helper commands to run, per map. */
export interface HelperPlan {
  /** newuidmap's path, when the uid map needs it. */
  newuidmap: string | null;
  /** newgidmap's path, when the gid map needs it. */
  newgidmap: string | null;
}

/**
 * Checks, before anything runs, that the helpers a plan needs exist and
 * that /etc/subuid and /etc/subgid grant the ranges. Returns null when no
 * helper is needed.
 *
 * @example
 * ```ts ignore
 * const helpers = prepareIdMapHelpers(plan, currentHelperHost());
 * ```
 */
export function prepareIdMapHelpers(plan: Plan, host: HelperHost): HelperPlan | null {
  const needUid = needsIdMapHelper(plan.uidMap, host.uid, host.uid);
  const needGid = needsIdMapHelper(plan.gidMap, host.gid, host.uid);
  if (!needUid && !needGid) return null;
  const user = readLines(host.passwd).map((l) => l.split(":")).find((f) => f[2] === String(host.uid))?.[0] ?? null;
  return {
    newuidmap: needUid ? check("uid", plan.uidMap, host.uid, host, user) : null,
    newgidmap: needGid ? check("gid", plan.gidMap, host.gid, host, user) : null,
  };
}

/**
 * Writes the id maps of the held child `pid`, through the helpers where
 * needed. Throws {@link HakoniwaError} with the helper's own message when
 * one fails.
 *
 * @example
 * ```ts ignore
 * runIdMapHelpers(pid, plan, prepareIdMapHelpers(plan, currentHelperHost())!);
 * ```
 */
export function runIdMapHelpers(pid: number, plan: Plan, helpers: HelperPlan): void {
  const maps = [["uid", helpers.newuidmap, plan.uidMap], ["gid", helpers.newgidmap, plan.gidMap]] as const;
  for (const [kind, tool, map] of maps) {
    if (!tool) {
      // A map of one's own id: the caller may write it itself (setgroups is "deny" already).
      try {
        Deno.writeTextFileSync(`/proc/${pid}/${kind}_map`, formatIdMap(map));
      } catch (e) {
        throw new HakoniwaError(`cannot write /proc/${pid}/${kind}_map: ${e instanceof Error ? e.message : e}`);
      }
      continue;
    }
    const args = [String(pid), ...map.flatMap((m) => [m.container, m.host, m.count].map(String))];
    const out = new Deno.Command(tool, { args, stdin: "null", stdout: "piped", stderr: "piped" }).outputSync();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim() || `exit status ${out.code}`;
      throw new HakoniwaError(`${tool.split("/").pop()} ${args.join(" ")} failed: ${why}`);
    }
  }
}
