/**
 * Whether a read-only rootdir needs a layer: the native core then builds the
 * root on an overlay of a new tmpfs over the rootdir (HK_MF_LAYER), so the
 * mount points and files the plan makes land in the tmpfs and the host's
 * directory is never written. A rootdir that has everything the plan needs
 * is used as it is: the common case costs nothing.
 *
 * The plan decides, not the core, because TypeScript decides and the plan
 * shows what will happen (`explain`, `--verbose`). A path that changes
 * between the plan and the run is never written either way: without the
 * layer the rootdir is read-only before the build, so a mount point that
 * vanished meanwhile fails the run (EROFS); one that appeared costs only the
 * layer.
 *
 * @module
 */
import type { HostView, MountOp } from "./types.ts";

/**
 * Whether building `mounts` in the read-only rootdir `root` (a resolved host
 * path) would create anything in it: a missing mount point or a parent of
 * one, a missing directory, or any file or symlink, that does not lie
 * beneath an earlier mount of the plan (a tmpfs, a proc, a bind), where it is
 * made in that mount instead. A path with a symlink on the way counts as
 * missing (the core refuses it with or without the layer).
 *
 * @example
 * ```ts
 * import { needsLayer } from "./root_layer.ts";
 * const host = { uid: 0, gid: 0, realPath: (p: string) => ["/srv/root", "/srv/root/proc"].includes(p) ? p : null };
 * console.log(needsLayer("/srv/root", [{ kind: "proc", target: "/proc" }], host)); // false
 * console.log(needsLayer("/srv/root", [{ kind: "tmpfs", target: "/tmp", size: 0, mode: 0o1777 }], host)); // true
 * ```
 */
export function needsLayer(root: string, mounts: readonly MountOp[], host: HostView): boolean {
  const base = root.replace(/\/+$/, "");
  const inRoot = (target: string) => {
    const path = base + target;
    try {
      return host.realPath(path) === path;
    } catch {
      return false; // unreadable on the way: the layer, and the core says what is wrong
    }
  };
  const mounted: string[] = [];
  const beneathMount = (target: string) => mounted.some((m) => target === m || target.startsWith(`${m}/`));
  for (const op of mounts) {
    if (!beneathMount(op.target)) {
      if (op.kind === "file" || op.kind === "symlink") return true;
      if (op.kind !== "readonly" && !inRoot(op.target)) return true;
    }
    if (op.kind === "bind" || op.kind === "tmpfs" || op.kind === "proc" || op.kind === "devpts") {
      mounted.push(op.target);
    }
  }
  return false;
}
