/**
 * `USER[:GROUP[:SUPPLEMENTARY,...]]` to ids, through an /etc/passwd and
 * /etc/group: the sandbox root's when its tree has them (`--rootfs DIR`,
 * `--rootdir DIR`), else the host's.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { checkGroups } from "./groups.ts";

/**
 * The files names are looked up in.
 *
 * @example
 * ```ts
 * import type { UserFiles } from "./user.ts";
 * const alpine: UserFiles = { passwd: "/srv/alpine/etc/passwd", group: "/srv/alpine/etc/group" };
 * console.log(alpine.group);
 * ```
 */
export interface UserFiles {
  /** An /etc/passwd. */
  passwd: string;
  /** An /etc/group. */
  group: string;
}

/**
 * The host's /etc/passwd and /etc/group.
 *
 * @example
 * ```ts
 * import { HOST_USER_FILES } from "./user.ts";
 * console.log(HOST_USER_FILES.passwd); // "/etc/passwd"
 * ```
 */
export const HOST_USER_FILES: UserFiles = { passwd: "/etc/passwd", group: "/etc/group" };

/**
 * What a user spec resolves to.
 *
 * @example
 * ```ts
 * import type { ResolvedUser } from "./user.ts";
 * const root: ResolvedUser = { uid: 0, gid: 0, groups: [10, 27], implied: false }; // root:root:wheel,video
 * console.log(root.groups);
 * ```
 */
export interface ResolvedUser {
  /** uid inside. */
  uid: number;
  /** gid inside. */
  gid: number;
  /**
   * Supplementary gids: those given after the second colon, none for
   * `USER:GROUP`, and for a lone `USER` (as 1.x does) its primary group
   * and every group of the group file that lists USER as a member.
   */
  groups: number[];
  /** The groups are those a lone USER implies, not a list that was given. */
  implied: boolean;
}

function entries(file: string): string[][] {
  try {
    return Deno.readTextFileSync(file).split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
  } catch {
    return [];
  }
}

function exists(file: string): boolean {
  try {
    return Deno.statSync(file).isFile;
  } catch {
    return false;
  }
}

/**
 * The passwd and group files of a root tree (a directory on the host), each
 * where the tree has it, else the host's.
 *
 * @example
 * ```ts
 * import { userFilesOf } from "./user.ts";
 * console.log(userFilesOf(null).passwd); // "/etc/passwd"
 * ```
 */
export function userFilesOf(tree: string | null): UserFiles {
  if (tree === null) return HOST_USER_FILES;
  const at = (name: string) => `${tree.replace(/\/+$/, "")}/etc/${name}`;
  return {
    passwd: exists(at("passwd")) ? at("passwd") : HOST_USER_FILES.passwd,
    group: exists(at("group")) ? at("group") : HOST_USER_FILES.group,
  };
}

/** A group name or number to its gid, through the group file. */
function groupId(name: string, files: UserFiles, what: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const f = entries(files.group).find((e) => e[0] === name);
  if (!f) throw new UsageError(`${what}: no group ${JSON.stringify(name)} in ${files.group}`, what);
  return Number(f[2]);
}

/**
 * Resolves `USER[:GROUP[:SG,...]]` (names or numbers) to a uid, a gid and
 * supplementary groups (see {@link ResolvedUser.groups}). Without a group,
 * the user's primary group. Errors name `what` (the flag or key).
 *
 * @example
 * ```ts
 * import { resolveUser } from "./user.ts";
 * console.log(resolveUser("0:0")); // { uid: 0, gid: 0, groups: [], implied: false }
 * console.log(resolveUser("0:0:5,7").groups); // [5, 7]
 * ```
 */
export function resolveUser(spec: string, files: UserFiles = HOST_USER_FILES, what = "user"): ResolvedUser {
  const parts = spec.split(":");
  if (parts.length > 3 || parts.some((p) => !p || /\s/.test(p)) || parts[2]?.split(",").some((g) => !g)) {
    throw new UsageError(`${what}: expected USER[:GROUP[:GROUP,...]], got ${JSON.stringify(spec)}`, what);
  }
  const [user, group, supplementary] = parts;
  const passwd = entries(files.passwd);
  const entry = /^\d+$/.test(user) ? passwd.find((f) => f[2] === user) : passwd.find((f) => f[0] === user);
  if (!entry && !/^\d+$/.test(user)) {
    throw new UsageError(`${what}: no user ${JSON.stringify(user)} in ${files.passwd}`, what);
  }
  const uid = Number(user.match(/^\d+$/) ? user : entry![2]);
  let gid = entry ? Number(entry[3]) : undefined;
  if (group !== undefined) gid = groupId(group, files, what);
  if (gid === undefined) {
    throw new UsageError(`${what}: uid ${uid} has no entry in ${files.passwd}: give the group as ${user}:GROUP`, what);
  }
  if (supplementary !== undefined) {
    const gids = supplementary.split(",").map((g) => groupId(g, files, what));
    return { uid, gid, groups: checkGroups(what, gids), implied: false };
  }
  if (group !== undefined) return { uid, gid, groups: [], implied: false };
  // A lone USER: its primary group and those that list it as a member, in the group file's order.
  const name = entry?.[0];
  const member = entries(files.group).filter((f) => name !== undefined && (f[3] ?? "").split(",").includes(name));
  return { uid, gid, groups: checkGroups(what, [gid, ...member.map((f) => Number(f[2]))]), implied: true };
}
