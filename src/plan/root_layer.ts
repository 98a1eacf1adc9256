/**
 * Where the build needs a tmpfs layer: the native core then makes an
 * overlay of a new tmpfs over a read-only host directory (HK_MF_LAYER), so
 * the mount points, directories, files and links the plan makes in it land
 * in the tmpfs and the host's directory is never written. Two places can
 * need one: a read-only rootdir, and a read-only bind in which a later
 * mount point lies (`-b DATA:/usr/share/data` under the KISS policy's read-
 * only /usr). A directory that has everything the plan needs is used as it
 * is: the common case costs nothing.
 *
 * The plan decides, not the core, because TypeScript decides and the plan
 * shows what will happen (`explain`, `--verbose`). A path that changes
 * between the plan and the run is never written either way: without the
 * layer the directory is read-only before the build, so a mount point that
 * vanished meanwhile fails the run (EROFS); one that appeared costs only the
 * layer.
 *
 * @module
 */
import type { HostView, MountOp } from "./types.ts";

/**
 * What {@link layersNeeded} finds: whether the rootdir needs a layer, and which binds (indices into the mounts).
 *
 * @example
 * ```ts
 * import type { Layers } from "./root_layer.ts";
 * const none: Layers = { root: false, binds: new Set() };
 * console.log(none.binds.size); // 0
 * ```
 */
export interface Layers {
  /** The read-only rootdir lacks something the plan makes in it. */
  root: boolean;
  /** Indices of read-only binds that lack something the plan makes in them. */
  binds: Set<number>;
}

/** Whether sandbox path `path` is `dir` or lies beneath it. */
function within(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(`${dir}/`);
}

/**
 * Which read-only host directories building `mounts` would create anything
 * in: the rootdir `roRoot` (a resolved host path; null for a new tmpfs or a
 * read-write rootdir) and every read-only bind of a directory. Each
 * operation is made in the last earlier mount at or above its target (a
 * tmpfs, a proc, a devpts, a read-write bind: nothing to layer), else in
 * the root. It creates something there when it is a file or a symlink, or
 * when its target (or a parent of it) is missing. A path with a symlink on
 * the way counts as missing (the core refuses it with or without the
 * layer).
 *
 * @example
 * ```ts
 * import { layersNeeded } from "./root_layer.ts";
 * const host = { uid: 0, gid: 0, realPath: (p: string) => ["/srv/etc", "/srv/root"].includes(p) ? p : null };
 * const layers = layersNeeded(null, [
 *   { kind: "bind", source: "/srv/etc", target: "/a1", readonly: true },
 *   { kind: "bind", source: "/srv/root", target: "/a1/b1", readonly: true },
 * ], host);
 * console.log(layers.root, [...layers.binds]); // false [0]
 * ```
 */
export function layersNeeded(roRoot: string | null, mounts: readonly MountOp[], host: HostView): Layers {
  const exists = (base: string, rel: string) => {
    const path = base.replace(/\/+$/, "") + rel;
    try {
      return host.realPath(path) === path;
    } catch {
      return false; // unreadable on the way: the layer, and the core says what is wrong
    }
  };
  const layers: Layers = { root: false, binds: new Set() };
  const mounted: number[] = [];
  mounts.forEach((op, i) => {
    if (op.kind === "readonly") return; // a remount of what is there makes nothing
    const at = mounted.findLast((j) => within(op.target, mounts[j].target));
    const cover = at === undefined ? null : mounts[at];
    const makes = (base: string, rel: string) => op.kind === "file" || op.kind === "symlink" || !exists(base, rel);
    if (cover === null) {
      if (roRoot !== null && makes(roRoot, op.target)) layers.root = true;
    } else if (cover.target !== op.target && cover.kind === "bind" && cover.readonly) {
      const rel = cover.target === "/" ? op.target : op.target.slice(cover.target.length);
      if (host.isDirectory?.(cover.source) !== false && makes(cover.source, rel)) layers.binds.add(at!);
    }
    if (op.kind === "bind" || op.kind === "tmpfs" || op.kind === "proc" || op.kind === "devpts") mounted.push(i);
  });
  return layers;
}

/**
 * Whether building `mounts` in the read-only rootdir `root` (a resolved host
 * path) would create anything in it (see {@link layersNeeded}).
 *
 * @example
 * ```ts
 * import { needsLayer } from "./root_layer.ts";
 * const host = { uid: 0, gid: 0, realPath: (p: string) => ["/srv/root", "/srv/root/proc"].includes(p) ? p : null };
 * console.log(needsLayer("/srv/root", [{ kind: "proc", target: "/proc" }], host)); // false
 * console.log(needsLayer("/srv/root", [{ kind: "tmpfs", target: "/tmp", size: 0, inodes: 0, mode: 0o1777 }], host)); // true
 * ```
 */
export function needsLayer(root: string, mounts: readonly MountOp[], host: HostView): boolean {
  return layersNeeded(root, mounts, host).root;
}
