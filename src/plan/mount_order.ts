/**
 * The order mounts are made in: as given, except that a mount never hides
 * one given earlier beneath its target. hakoniwa 1.x makes its mounts in
 * the order of their targets, so `-b A:/a1/b1/c1 -b B:/a1` shows both; made
 * in the order given, the bind at /a1 would cover the one at /a1/b1/c1.
 *
 * @module
 */
import type { ContainerMount } from "./types.ts";

/** Whether sandbox path `path` lies strictly beneath `dir` (both normalized, absolute). */
function beneath(path: string, dir: string): boolean {
  return dir === "/" ? path !== "/" : path.startsWith(`${dir}/`);
}

/** A sandbox path without doubled or trailing slashes and `.` (`/a//b/.` -> `/a/b`); relative paths stay. */
function norm(path: string): string {
  if (!path.startsWith("/")) return path;
  return "/" + path.split("/").filter((p) => p !== "" && p !== ".").join("/");
}

/**
 * The mounts in the order given, but each placed before the first one that
 * lies beneath its target (stable otherwise): a parent comes before what is
 * made in it, whatever order they were given in, and mounts in unrelated
 * places keep their order.
 *
 * @example
 * ```ts
 * import { parentsFirst } from "./mount_order.ts";
 * const order = parentsFirst([
 *   { kind: "bind", source: "/srv/bin", target: "/a1/b1/c1", readonly: true },
 *   { kind: "tmpfs", target: "/tmp" },
 *   { kind: "bind", source: "/srv/etc", target: "/a1", readonly: true },
 * ]);
 * console.log(order.map((m) => m.target)); // ["/a1", "/a1/b1/c1", "/tmp"]
 * ```
 */
export function parentsFirst<M extends ContainerMount>(mounts: readonly M[]): M[] {
  const out: M[] = [];
  for (const m of mounts) {
    const target = norm(m.target);
    const at = out.findIndex((o) => beneath(norm(o.target), target));
    if (at < 0) out.push(m);
    else out.splice(at, 0, m);
  }
  return out;
}
