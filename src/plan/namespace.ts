/**
 * Linux namespaces by name and their clone flags.
 *
 * @module
 */

/** Clone flag of each namespace hakoniwa can create. */
export const NAMESPACE_FLAGS = {
  user: 0x10000000, // CLONE_NEWUSER
  mount: 0x00020000, // CLONE_NEWNS
  pid: 0x20000000, // CLONE_NEWPID
  ipc: 0x08000000, // CLONE_NEWIPC
  uts: 0x04000000, // CLONE_NEWUTS
  network: 0x40000000, // CLONE_NEWNET
  cgroup: 0x02000000, // CLONE_NEWCGROUP
} as const;

/** A namespace name, e.g. `"network"`. */
export type Namespace = keyof typeof NAMESPACE_FLAGS;

/** Every namespace, in a stable order. */
export const ALL_NAMESPACES = Object.keys(NAMESPACE_FLAGS) as Namespace[];

/**
 * The clone flags for a set of namespaces.
 *
 * @example
 * ```ts
 * import { cloneFlags } from "./namespace.ts";
 * console.log(cloneFlags(["user", "mount"]).toString(16)); // "10020000"
 * ```
 */
export function cloneFlags(namespaces: Iterable<Namespace>): number {
  let flags = 0;
  for (const ns of namespaces) flags |= NAMESPACE_FLAGS[ns];
  return flags >>> 0;
}
