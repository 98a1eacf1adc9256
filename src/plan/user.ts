/**
 * `USER[:GROUP[:SUPPLEMENTARY,...]]` to ids, through an /etc/passwd and
 * /etc/group: the sandbox root's when its tree has them (`--rootfs DIR`,
 * `--rootdir DIR`), else the host's.
 *
 * A tree's files are read inside the tree (their links stay in it), once,
 * non-blocking (a FIFO is an error, not a hang), and their names are taken
 * only from a file that belongs to the caller or root, in a directory of
 * the caller's or root's, neither writable by another user: whoever can
 * write a passwd file chooses the uid a name stands for (`nobody` as 0,
 * host root for a root caller).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { HostFileError, type HostFileInfo, readHostFileSync, readHostTextSync } from "../native/safe_open.ts";
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
  /**
   * Reads one of them as lines of fields (default: the host file at its path); throws a UsageError when its
   * names are not to be taken. {@link userFilesOf} reads a tree's files once, here.
   */
  read?: (which: "passwd" | "group") => string[][];
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

function lines(text: string): string[][] {
  return text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
}

function entries(files: UserFiles, which: "passwd" | "group"): string[][] {
  if (files.read) return files.read(which);
  try {
    return lines(readHostTextSync(files[which]));
  } catch {
    return [];
  }
}

/** Whether a user other than the caller can write a file or directory of this mode, owner and group. */
function othersWrite(mode: number, gid: number): boolean {
  return (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && gid !== (Deno.gid() ?? 0));
}

/** Why names of a tree's file are not to be taken from it, or null when they are. */
function untrusted(info: HostFileInfo): string | null {
  const me = Deno.uid() ?? 0;
  const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");
  if (info.uid !== me && info.uid !== 0) return `belongs to uid ${info.uid}, not to you or root`;
  if (othersWrite(info.mode, info.gid)) return `can be written by other users (mode ${octal(info.mode)})`;
  if (info.dirUid !== me && info.dirUid !== 0) return `is in a directory of uid ${info.dirUid}, not yours or root's`;
  if (othersWrite(info.dirMode, info.dirGid) && (info.dirMode & 0o1000) === 0) {
    return `is in a directory other users can write (mode ${octal(info.dirMode)})`;
  }
  return null;
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
  const read = (name: "passwd" | "group"): { path: string; table: () => string[][] } => {
    const path = `${tree.replace(/\/+$/, "")}/etc/${name}`;
    let file: { text: string; info: HostFileInfo };
    try {
      file = readHostFileSync(`/etc/${name}`, { root: tree });
    } catch (e) {
      if (e instanceof HostFileError && e.errno === 2) return { path: HOST_USER_FILES[name], table: () => [] };
      const why = e instanceof Error ? e.message : String(e);
      return {
        path,
        table: () => {
          throw new UsageError(`cannot read ${path}: ${why}`, "user", { cause: e });
        },
      };
    }
    const why = untrusted(file.info);
    const table = lines(file.text);
    return {
      path,
      table: () => {
        if (why === null) return table;
        throw new UsageError(
          `${path} ${why}: its names are not taken (whoever can write it chooses the id a name stands for; ` +
            "give ids as numbers, USER:GROUP)",
          "user",
        );
      },
    };
  };
  const passwd = read("passwd"), group = read("group");
  const host = (which: "passwd" | "group") => entries(HOST_USER_FILES, which);
  return {
    passwd: passwd.path,
    group: group.path,
    read: (which) => {
      const f = which === "passwd" ? passwd : group;
      return f.path === HOST_USER_FILES[which] ? host(which) : f.table();
    },
  };
}

/** A group name or number to its gid, through the group file. */
function groupId(name: string, files: UserFiles, what: string, table: () => string[][]): number {
  if (/^\d+$/.test(name)) return Number(name);
  const f = table().find((e) => e[0] === name);
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
  // A file that cannot be read, or whose names are not taken, fails the lookup that needs it (naming `what`).
  const table = (which: "passwd" | "group") => {
    try {
      return entries(files, which);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`${what}: ${e.message}`, what, { cause: e });
      throw e;
    }
  };
  // Numbers for both need no passwd line.
  const passwd = /^\d+$/.test(user) && group !== undefined ? [] : table("passwd");
  const entry = /^\d+$/.test(user) ? passwd.find((f) => f[2] === user) : passwd.find((f) => f[0] === user);
  if (!entry && !/^\d+$/.test(user)) {
    throw new UsageError(`${what}: no user ${JSON.stringify(user)} in ${files.passwd}`, what);
  }
  const uid = Number(user.match(/^\d+$/) ? user : entry![2]);
  let gid = entry ? Number(entry[3]) : undefined;
  if (group !== undefined) gid = groupId(group, files, what, () => table("group"));
  if (gid === undefined) {
    throw new UsageError(`${what}: uid ${uid} has no entry in ${files.passwd}: give the group as ${user}:GROUP`, what);
  }
  if (supplementary !== undefined) {
    const gids = supplementary.split(",").map((g) => groupId(g, files, what, () => table("group")));
    return { uid, gid, groups: checkGroups(what, gids), implied: false };
  }
  if (group !== undefined) return { uid, gid, groups: [], implied: false };
  // A lone USER: its primary group and those that list it as a member, in the group file's order.
  const name = entry?.[0];
  const member = table("group").filter((f) => name !== undefined && (f[3] ?? "").split(",").includes(name));
  return { uid, gid, groups: checkGroups(what, [gid, ...member.map((f) => Number(f[2]))]), implied: true };
}
