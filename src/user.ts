/**
 * `USER[:GROUP]` to ids, through the host's /etc/passwd and /etc/group.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

function lookup(file: string, name: string): string[] | null {
  let text = "";
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return f;
  }
  return null;
}

/**
 * Resolves `USER[:GROUP]` (names or numbers) to a uid and gid. Without a
 * group, the user's primary group.
 *
 * @example
 * ```ts
 * import { resolveUser } from "./user.ts";
 * console.log(resolveUser("0:0")); // { uid: 0, gid: 0 }
 * ```
 */
export function resolveUser(spec: string, files = { passwd: "/etc/passwd", group: "/etc/group" }): {
  uid: number;
  gid: number;
} {
  const [user, group] = spec.split(":");
  let uid: number, gid: number | undefined;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    const byId = (() => {
      try {
        return Deno.readTextFileSync(files.passwd).split("\n").map((l) => l.split(":")).find((f) => f[2] === user);
      } catch {
        return undefined;
      }
    })();
    if (byId) gid = Number(byId[3]);
  } else {
    const f = lookup(files.passwd, user);
    if (!f) throw new UsageError(`user: no user ${JSON.stringify(user)} in ${files.passwd}`, "user");
    uid = Number(f[2]);
    gid = Number(f[3]);
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const f = lookup(files.group, group);
      if (!f) throw new UsageError(`user: no group ${JSON.stringify(group)} in ${files.group}`, "user");
      gid = Number(f[2]);
    }
  }
  if (gid === undefined) {
    throw new UsageError(`user: uid ${uid} has no entry in ${files.passwd}: give the group as ${user}:GROUP`, "user");
  }
  return { uid, gid };
}
