/**
 * Supplementary groups of the command: which list a plan carries, and
 * whether the sandbox can set it. setgroups(2) inside a user namespace
 * needs the namespace's `/proc/PID/setgroups` to say `allow`: it does for a
 * root caller (whose own namespace allows it) and under a gid map that
 * newgidmap wrote (ranges of /etc/subgid); a gid map an unprivileged caller
 * writes itself needs `deny` first, and then no list can be set.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { type IdMapEntry, mapsInside } from "./idmap.ts";
import { needsIdMapHelper } from "./idmap_helper.ts";

/**
 * The most supplementary groups a sandbox takes (HK_CRED_GROUPS_MAX of the
 * native core).
 *
 * @example
 * ```ts
 * import { MAX_GROUPS } from "./groups.ts";
 * console.log(MAX_GROUPS); // 64
 * ```
 */
export const MAX_GROUPS = 64;

/**
 * Checks a list of supplementary gids given to `what` (a method, key or
 * flag): whole ids, at most {@link MAX_GROUPS}; duplicates are dropped.
 *
 * @example
 * ```ts
 * import { checkGroups } from "./groups.ts";
 * console.log(checkGroups("groups", [10, 27, 10])); // [10, 27]
 * ```
 */
export function checkGroups(what: string, gids: readonly number[]): number[] {
  for (const g of gids) {
    if (!Number.isSafeInteger(g) || g < 0 || g > 0xfffffffe) {
      throw new UsageError(`${what}: expected gids from 0 to 4294967294, got ${g}`, what);
    }
  }
  const unique = [...new Set(gids)];
  if (unique.length > MAX_GROUPS) {
    throw new UsageError(`${what}: at most ${MAX_GROUPS} supplementary groups, got ${unique.length}`, what);
  }
  return unique;
}

/**
 * What the plan knows when it decides the groups.
 *
 * @example
 * ```ts
 * import type { GroupsContext } from "./groups.ts";
 * const rootless: GroupsContext = { uid: 1000, gid: 1000, gidMap: [{ container: 0, host: 1000, count: 1 }], inside: 0 };
 * console.log(rootless.gidMap.length);
 * ```
 */
export interface GroupsContext {
  /** The caller's uid and gid. */
  uid: number;
  gid: number;
  /** Whether the caller's own namespace lets it allow setgroups (a root caller; absent: uid 0 may). */
  setgroups?: boolean;
  /** The plan's gid map and the gid the command runs as inside. */
  gidMap: IdMapEntry[];
  inside: number;
}

/**
 * Whether the sandbox may call setgroups: a root caller whose namespace
 * allows it, or a gid map written by newgidmap.
 *
 * @example
 * ```ts
 * import { sandboxCanSetgroups } from "./groups.ts";
 * const own = [{ container: 0, host: 1000, count: 1 }];
 * console.log(sandboxCanSetgroups({ uid: 1000, gid: 1000, gidMap: own, inside: 0 })); // false
 * ```
 */
export function sandboxCanSetgroups(ctx: GroupsContext): boolean {
  if (ctx.uid === 0) return ctx.setgroups ?? true;
  return needsIdMapHelper(ctx.gidMap, ctx.gid, ctx.uid);
}

/**
 * The supplementary groups a plan carries: null when none were asked for
 * (the sandbox then clears them where it can set groups, else keeps what
 * the caller has), else the list. `optional` (the groups `--user USER`
 * finds for USER, as 1.x does) are dropped with `warn` where the sandbox
 * cannot set groups and they hold more than the command's own gid; a list
 * that is asked for is an error then. Every gid must be mapped inside.
 *
 * @example
 * ```ts
 * import { planGroups } from "./groups.ts";
 * const map = [{ container: 0, host: 0, count: 1 }, { container: 10, host: 10, count: 1 }];
 * console.log(planGroups([10], false, { uid: 0, gid: 0, gidMap: map, inside: 0 })); // [10]
 * ```
 */
export function planGroups(
  groups: readonly number[] | undefined,
  optional: boolean,
  ctx: GroupsContext,
  warn: (message: string) => void = () => {},
): number[] | null {
  if (groups === undefined) return null;
  const list = checkGroups("groups", groups);
  if (list.length && !sandboxCanSetgroups(ctx)) {
    if (optional) {
      if (list.some((g) => g !== ctx.inside)) {
        warn(
          `the supplementary groups of the user (gids ${list.join(", ")}) are not set: a gid map written ` +
            "without newgidmap denies setgroups (map gids through newgidmap: --userns auto, or --gidmap " +
            "ranges of /etc/subgid)",
        );
      }
      return null;
    }
    throw new UsageError(
      `groups: setting supplementary groups (gids ${list.join(", ")}) needs setgroups, which a gid map ` +
        `written without newgidmap denies (an unprivileged caller's own gid ${ctx.gid}): map gids through ` +
        "newgidmap: --userns auto, or gidMap(ID, HOST, COUNT) ranges that /etc/subgid grants",
      "groups",
    );
  }
  const unmapped = list.filter((g) => !mapsInside(ctx.gidMap, g));
  if (unmapped.length) {
    throw new UsageError(
      `groups: gid${unmapped.length > 1 ? "s" : ""} ${unmapped.join(", ")} ${
        unmapped.length > 1 ? "are" : "is"
      } not in the gid map (a supplementary group must be mapped inside: --userns auto, or gidMap(ID, HOST, COUNT))`,
      "groups",
    );
  }
  return list;
}
