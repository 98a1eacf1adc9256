/**
 * The flags of the command's identity: `-u/--uid`, `-g/--gid`, `--user`,
 * `--userns`, `--uidmap`, `--gidmap` (their table entries and how they
 * apply; the rest of the table is in `flags.ts`).
 *
 * @module
 */
import type { Container } from "../container.ts";
import { UsageError } from "../common/errors.ts";
import { type IdMapEntry, MAX_ID } from "../plan/idmap.ts";
import type { FlagSpec, FlagState, SandboxFlags } from "./flag_types.ts";

/**
 * `C[:H[:N]]`: container id, host id (default: the caller's), count (default 1).
 *
 * @example
 * ```ts
 * import { parseIdMap } from "./user_flags.ts";
 * console.log(parseIdMap("--uidmap", 1000)("0")); // { container: 0, host: 1000, count: 1 }
 * ```
 */
export function parseIdMap(flag: string, hostId: number): (value: string) => IdMapEntry {
  return (value: string): IdMapEntry => {
    const parts = value.split(":");
    const ok = parts.length <= 3 && parts.every((p) => /^\d+$/.test(p) && Number(p) <= MAX_ID);
    const [container, host = hostId, count = 1] = parts.map(Number);
    if (!ok || count < 1 || container + count - 1 > MAX_ID || host + count - 1 > MAX_ID) {
      throw new UsageError(`${flag}: expected CONTAINER[:HOST[:COUNT]] ids up to ${MAX_ID}, got "${value}"`, flag);
    }
    return { container, host, count };
  };
}

/**
 * The value of `-u/--uid` (`-g/--gid`): an id inside, or with a colon a
 * map range `C:H[:N]` as `--uidmap` takes it (1.x's `-u` is `--uidmap`).
 *
 * @example
 * ```ts
 * import { idOrMap } from "./user_flags.ts";
 * console.log(idOrMap("--uid", 1000)("0")); // 0
 * console.log(idOrMap("--uid", 1000)("0:1000:1")); // { container: 0, host: 1000, count: 1 }
 * ```
 */
export function idOrMap(flag: string, hostId: number): (value: string) => number | IdMapEntry {
  return (value) => {
    if (value.includes(":")) return parseIdMap(flag, hostId)(value);
    if (!/^\d+$/.test(value) || Number(value) > MAX_ID) {
      throw new UsageError(`${flag}: expected a whole number from 0 to ${MAX_ID}, got "${value}"`, flag);
    }
    return Number(value);
  };
}

const uid = Deno.uid() ?? 0, gid = Deno.gid() ?? 0;

/** `-u/--uid` or `-g/--gid`: an id inside, or with a colon a map range as `--uidmap`/`--gidmap` (1.x's forms). */
function idFlag(kind: "uid" | "gid", own: number): FlagSpec {
  const maps = kind === "uid" ? "uidMaps" : "gidMaps";
  return {
    name: kind,
    short: kind[0],
    value: `${kind.toUpperCase()}|C:H[:N]`,
    repeat: true,
    brief: `${kind} inside (default: your own), or, with a colon, a ${kind} map range as --${kind}map (1.x's -${
      kind[0]
    }; repeatable)`,
    parse: idOrMap(`--${kind}`, own),
    order: (state, v) => {
      if (typeof v !== "number") state[maps].push(v as IdMapEntry);
    },
  };
}

/**
 * The identity flags, in help order.
 *
 * @example
 * ```ts
 * import { ID_FLAGS } from "./user_flags.ts";
 * console.log(ID_FLAGS.map((f) => f.name).includes("userns")); // true
 * ```
 */
export const ID_FLAGS: readonly FlagSpec[] = [
  idFlag("uid", uid),
  idFlag("gid", gid),
  {
    name: "user",
    value: "USER[:GROUP[:GROUP,...]]",
    brief: "run as USER, in GROUP and the supplementary GROUPs (names from the root's /etc/passwd and " +
      "/etc/group, else the host's; a lone USER also gets its groups)",
    parse: (v) => {
      if (!/^[^:\s]+(:[^:\s]+(:[^:\s,]+(,[^:\s,]+)*)?)?$/.test(v)) {
        throw new UsageError(`--user: expected USER[:GROUP[:GROUP,...]], got "${v}"`, "--user");
      }
      return v;
    },
  },
  {
    name: "userns",
    value: "MODE",
    brief: "auto: you are 0 inside, and 1... are the ranges /etc/subuid and /etc/subgid grant you (newuidmap)",
    parse: (v) => {
      if (v !== "auto") throw new UsageError(`--userns: expected auto, got "${v}"`, "--userns");
      return v;
    },
  },
  {
    name: "uidmap",
    value: "C[:H[:N]]",
    repeat: true,
    brief: "map N uids from C inside to H outside (repeatable)",
    parse: parseIdMap("--uidmap", uid),
    order: (state, m) => state.uidMaps.push(m as IdMapEntry),
  },
  {
    name: "gidmap",
    value: "C[:H[:N]]",
    repeat: true,
    brief: "map N gids from C inside to H outside (repeatable)",
    parse: parseIdMap("--gidmap", gid),
    order: (state, m) => state.gidMaps.push(m as IdMapEntry),
  },
];

/**
 * Applies the identity flags: `--userns auto`'s maps, `--user` (names
 * through the root tree's passwd and group when it has them), the plain
 * ids of `-u`/`-g`, and the map ranges.
 *
 * @example
 * ```ts
 * import { Container } from "jsr:@hakoniwa/cli";
 * import { newFlagState } from "./flags.ts";
 * import { applyIdFlags } from "./user_flags.ts";
 * const c = Container.empty();
 * applyIdFlags(c, { user: "0:0:5,7" }, newFlagState());
 * console.log(c.settings.groups); // [5, 7]
 * ```
 */
export function applyIdFlags(c: Container, o: SandboxFlags, state: FlagState): void {
  const s = c.settings;
  if (o.userns !== undefined) {
    const given = [...state.uidMaps.length ? ["--uidmap"] : [], ...state.gidMaps.length ? ["--gidmap"] : []];
    if (given.length) {
      throw new UsageError(
        `--userns auto makes the id maps: it cannot be given with ${given.join(" or ")}`,
        "--userns",
      );
    }
    c.userns("auto");
  }
  if (o.user !== undefined) {
    // The root's own tree (--rootfs DIR, --rootdir DIR, a policy's rootdir) names its users when it has the files.
    c.user(
      o.user as string,
      o.rootfs !== undefined && o.rootfs !== "none" ? o.rootfs as string : s.rootdir?.path ?? null,
    );
  }
  // The last plain id wins; the map ranges went to the ordered state.
  const lastId = (v: unknown, flag: string) => {
    const ids = ((v ?? []) as unknown[]).filter((x): x is number => typeof x === "number");
    if (ids.length > 1) throw new UsageError(`${flag} is given twice ("${ids[0]}", then "${ids[1]}")`, flag);
    return ids[0];
  };
  const u = lastId(o.uid, "--uid"), g = lastId(o.gid, "--gid");
  if (u !== undefined) c.uid(u);
  if (g !== undefined) c.gid(g);
  if (state.uidMaps.length) s.uidMaps = [...state.uidMaps];
  if (state.gidMaps.length) s.gidMaps = [...state.gidMaps];
}
