/**
 * The network parts of a plan (src/plan/): with an allow list (`--allow-net`), where the proxy is inside, the
 * proxy variables and Landlock's room for the bridge's port; with `--network pasta`, a resolv.conf that names
 * pasta's DNS forwarding address.
 *
 * @module
 */
import type { ContainerSettings, HostView, MountOp, Plan } from "./types.ts";
import type { LandlockSettings } from "./landlock.ts";
import type { Namespace } from "./namespace.ts";
import { UsageError } from "../common/errors.ts";
import { type AllowNetPlan, PROXY_PORT, PROXY_SOCKET, proxyEnv } from "../net/allow.ts";
import { pastaDnsAddress } from "../net/network.ts";

/**
 * The op that decides what is at `path` inside: the last one (read-only remounts aside) that makes `path` or one
 * of its parents; null when the root itself holds it.
 *
 * @example
 * ```ts
 * import { coveringOp } from "./net_plan.ts";
 * const op = coveringOp([{ kind: "bind", source: "/etc", target: "/etc", readonly: true }], "/etc/resolv.conf");
 * console.log(op?.kind); // bind
 * ```
 */
export function coveringOp(mounts: readonly MountOp[], path: string): MountOp | null {
  for (let i = mounts.length - 1; i >= 0; i--) {
    const op = mounts[i];
    if (op.kind === "readonly") continue;
    if (path === op.target || path.startsWith(op.target === "/" ? "/" : `${op.target}/`)) return op;
  }
  return null;
}

/**
 * The allow-net part of a plan, or undefined without an allow list. Adds the proxy variables the environment does
 * not set already. Throws {@link UsageError} when the sandbox would not have a network namespace of its own with
 * only `lo` (the host's, pasta's), or when the socket's place inside lies in a host bind (its mount point would be
 * made in the host's directory).
 *
 * @example
 * ```ts ignore
 * const allowNet = planAllowNet(settings, namespaces, mounts, env);
 * ```
 */
export function planAllowNet(
  settings: ContainerSettings,
  namespaces: readonly Namespace[],
  mounts: readonly MountOp[],
  env: Map<string, string>,
): AllowNetPlan | undefined {
  const rules = settings.allowNet ?? [];
  if (!rules.length) return undefined;
  if (!namespaces.includes("network")) {
    throw new UsageError(
      "allowNet: the allow list needs the sandbox's own network namespace, with only lo: it contradicts the " +
        "host's network (network host, --share-net, share_net; unshare the network namespace)",
      "allowNet",
    );
  }
  if (settings.network?.mode === "pasta") {
    throw new UsageError(
      "allowNet: the allow list contradicts network pasta, which opens the host's network: give one",
      "allowNet",
    );
  }
  const op = coveringOp(mounts, PROXY_SOCKET);
  if (op?.kind === "bind") {
    throw new UsageError(
      `allowNet: the proxy's socket is bound at ${PROXY_SOCKET}, which lies in the bind of ${op.source} at ` +
        `${op.target}: its mount point would be made in that host directory (mount something else there)`,
      "allowNet",
    );
  }
  for (const [k, v] of proxyEnv(PROXY_PORT)) if (!env.has(k)) env.set(k, v);
  return { rules: rules.map((r) => ({ ...r })), port: PROXY_PORT, socket: PROXY_SOCKET };
}

/**
 * The op that makes the proxy socket's mount point, as `needsLayer` must see it (the spec binds the socket there).
 *
 * @example
 * ```ts
 * import { socketMountPoint } from "./net_plan.ts";
 * console.log(socketMountPoint({ rules: [], port: 3128, socket: "/run/hakoniwa/net.sock" }).target); // /run/hakoniwa/net.sock
 * ```
 */
export function socketMountPoint(allowNet: AllowNetPlan): MountOp {
  return { kind: "bind", source: "", target: allowNet.socket, readonly: true };
}

/**
 * Landlock with room for the bridge: when the command's TCP connections are restricted, the bridge's port is
 * allowed (the allow list is the restriction that matters).
 *
 * @example
 * ```ts
 * import { withBridgePort } from "./net_plan.ts";
 * const ll = { restrict: ["tcp.connect" as const], unrestricted: [], paths: [], ports: [], bestEffort: false, maxAbi: null };
 * console.log(withBridgePort(ll, { rules: [], port: 3128, socket: "/s" })?.ports); // [{ access: "tcp.connect", port: 3128 }]
 * ```
 */
export function withBridgePort(
  landlock: LandlockSettings | null,
  allowNet: AllowNetPlan | undefined,
): LandlockSettings | null {
  if (!landlock || !allowNet || !landlock.restrict.includes("tcp.connect")) return landlock;
  if (landlock.ports.some((p) => p.access === "tcp.connect" && p.port === allowNet.port)) return landlock;
  return { ...landlock, ports: [...landlock.ports, { access: "tcp.connect", port: allowNet.port }] };
}

/**
 * Under `--network pasta`, a resolv.conf naming pasta's DNS forwarding address ({@link pastaDnsAddress}), so names
 * resolve as on the host without a hand-made bind; null where the plan already decides /etc/resolv.conf (a bind
 * of the host's /etc or of a file, a file or link of the caller's), the root is a read-write host directory (never
 * written here), or a read-only one whose /etc/resolv.conf is a symbolic link (which the core would not follow).
 *
 * @example
 * ```ts
 * import { pastaResolvConf } from "./net_plan.ts";
 * const host = { uid: 0, gid: 0, realPath: (p: string) => p };
 * const op = pastaResolvConf({ mode: "pasta", options: [] }, [], { source: null, readonly: true }, host);
 * console.log(op?.kind === "file" && op.contents); // "nameserver 169.254.1.1\n"
 * ```
 */
export function pastaResolvConf(
  network: Plan["network"],
  mounts: readonly MountOp[],
  root: Plan["root"],
  host: HostView,
): MountOp | null {
  if (network.mode !== "pasta") return null;
  const op = coveringOp(mounts, "/etc/resolv.conf");
  if (op) {
    if (op.kind !== "tmpfs" && op.kind !== "dir") return null;
  } else if (root.source !== null) {
    // A rootdir's own: never written when read-write; left alone when it is a link (to systemd's stub, say, dangling
    // or not: the core makes files without following one).
    const inRoot = `${root.source.replace(/\/+$/, "")}/etc/resolv.conf`;
    if (!root.readonly || host.isSymlink?.(inRoot)) return null;
  }
  return {
    kind: "file",
    target: "/etc/resolv.conf",
    contents: `nameserver ${pastaDnsAddress(network.options)}\n`,
    mode: 0o644,
  };
}
