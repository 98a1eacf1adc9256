/**
 * A checked config.json ({@link OciConfig}) as hakoniwa's {@link Plan}: what the native core does for an OCI
 * container, as pure data, with the OCI-only part in `plan.oci`.
 *
 * @module
 */
import type { OciPlan, Plan, RlimitEntry } from "../plan/types.ts";
import type { Namespace } from "../plan/namespace.ts";
import { DEFAULT_SEARCH_PATH, sandboxPath } from "../plan/paths.ts";
import { isRlimitName } from "../plan/rlimit.ts";
import { ociProfile } from "../seccomp/oci.ts";
import { unconfinedProfile } from "../seccomp/profile.ts";
import { type OciConfig, OciConfigError, type OciProcess } from "./config.ts";
import { capabilityMask } from "./capabilities.ts";
import { type OciHost, ociMounts } from "./mounts.ts";

/** OCI namespace types as hakoniwa's names. */
const NAMESPACES: Record<string, Namespace> = {
  pid: "pid",
  network: "network",
  mount: "mount",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
};

/** What a plan needs besides the config. */
export interface OciPlanInput {
  /** The bundle directory (absolute). */
  bundle: string;
  /** The start fifo on the host. */
  startFifo: string;
  /** Whether the caller may let the container set its groups (see canSetgroups in src/run/runner.ts). */
  setgroups: boolean;
  /** Leave the session keyring alone (`create --no-new-keyring`). */
  noNewKeyring: boolean;
}

function namespaces(config: OciConfig): { created: Namespace[]; join: { namespace: Namespace; path: string }[] } {
  const created: Namespace[] = [];
  const join: { namespace: Namespace; path: string }[] = [];
  for (const [i, n] of config.linux.namespaces.entries()) {
    const ns = NAMESPACES[n.type];
    const key = `linux.namespaces[${i}]`;
    if (!ns) throw new OciConfigError(`${key}.type`, `${JSON.stringify(n.type)}: not supported`);
    if (created.includes(ns) || join.some((j) => j.namespace === ns)) {
      throw new OciConfigError(key, `the ${n.type} namespace is listed twice`);
    }
    if (n.path === null) created.push(ns);
    else if (ns === "pid" || ns === "mount") {
      throw new OciConfigError(
        `${key}.path`,
        `joining a ${n.type} namespace is not supported (hakoniwa's init is PID 1 \
of a pid namespace of its own, and builds the root in a mount namespace of its own)`,
      );
    } else join.push({ namespace: ns, path: n.path });
  }
  for (const ns of ["pid", "mount"] as const) {
    if (!created.includes(ns)) throw new OciConfigError("linux.namespaces", `a new ${ns} namespace is required`);
  }
  return { created, join };
}

/**
 * A process's rlimits as plan entries; a limit hakoniwa does not name is refused.
 *
 * @example
 * ```ts ignore
 * const limits = processRlimits(config.process);
 * ```
 */
export function processRlimits(p: OciProcess): RlimitEntry[] {
  return p.rlimits.map((l, i) => {
    const name = l.type.replace(/^RLIMIT_/, "").toLowerCase();
    if (!isRlimitName(name)) {
      throw new OciConfigError(
        `process.rlimits[${i}].type`,
        `${l.type}: not supported (as, core, cpu, fsize, nofile \
and nproc are)`,
      );
    }
    if (l.soft > l.hard) throw new OciConfigError(`process.rlimits[${i}]`, "soft is above hard");
    return { name, value: l.hard, soft: l.soft };
  });
}

/**
 * A process's capability sets as masks. The kernel raises an ambient capability only when it is permitted and
 * inheritable: the others are left out (as runc does) and `warn` says so.
 *
 * @example
 * ```ts ignore
 * const caps = processCapabilities(config.process, console.warn);
 * ```
 */
export function processCapabilities(p: OciProcess, warn: (m: string) => void): OciPlan["capabilities"] {
  const caps = p.capabilities;
  const mask = (k: keyof typeof caps) => capabilityMask(caps[k], `process.capabilities.${k}`);
  const [permitted, inheritable, asked] = [mask("permitted"), mask("inheritable"), mask("ambient")];
  const ambient = asked & permitted & inheritable;
  if (ambient !== asked) {
    warn("process.capabilities.ambient: only capabilities also permitted and inheritable are raised");
  }
  return { bounding: mask("bounding"), effective: mask("effective"), permitted, inheritable, ambient };
}

/**
 * The plan of an OCI container.
 *
 * @example
 * ```ts ignore
 * const plan = ociPlan(readConfig(text), { bundle, startFifo, setgroups: true, noNewKeyring: false }, host);
 * ```
 */
export function ociPlan(config: OciConfig, input: OciPlanInput, host: OciHost): Plan {
  const { created, join } = namespaces(config);
  const p = config.process;
  const userns = created.includes("user");
  if (userns && (!config.linux.uidMappings.length || !config.linux.gidMappings.length)) {
    throw new OciConfigError("linux.uidMappings", "a new user namespace needs uid and gid mappings");
  }
  if (!userns && (config.linux.uidMappings.length || config.linux.gidMappings.length)) {
    throw new OciConfigError("linux.uidMappings", "mappings need a new user namespace");
  }
  if (config.hostname && !created.includes("uts")) {
    throw new OciConfigError("hostname", "setting the hostname needs a new uts namespace");
  }
  if (p.additionalGids.length && !input.setgroups) {
    throw new OciConfigError("process.user.additionalGids", "this caller may not set groups in the container");
  }
  const rootPath = host.realPath(
    config.root.path.startsWith("/") ? config.root.path : `${input.bundle}/${config.root.path}`,
  );
  if (rootPath === null) throw new OciConfigError("root.path", `${config.root.path}: no such directory`);
  const env: [string, string][] = [];
  for (const [i, e] of p.env.entries()) {
    const eq = e.indexOf("=");
    if (eq <= 0) throw new OciConfigError(`process.env[${i}]`, "expected NAME=VALUE");
    env.push([e.slice(0, eq), e.slice(eq + 1)]);
  }

  const map = (m: typeof config.linux.uidMappings) =>
    m.map((e) => ({ container: e.containerID, host: e.hostID, count: e.size }));
  return {
    namespaces: created,
    root: { source: rootPath, readonly: config.root.readonly },
    mounts: ociMounts(config, input.bundle, host),
    uidMap: map(config.linux.uidMappings),
    gidMap: map(config.linux.gidMappings),
    ...processPlan(p, env, input.setgroups, config.linux.seccomp),
    // Without one, a new uts namespace keeps the host's name, as runc leaves it.
    hostname: config.hostname || Deno.hostname(),
    loopback: created.includes("network"),
    keyring: !input.noNewKeyring,
    network: { mode: created.includes("network") ? "none" : "host", options: [] },
    oci: {
      startFifo: input.startFifo,
      detach: true,
      join,
      capabilities: processCapabilities(p, host.warn),
      oomScoreAdj: p.oomScoreAdj,
      umask: p.umask,
    },
  };
}

/**
 * The plan's fields of an OCI process (a container's, or an exec's), the same for both: its user, groups, limits,
 * environment, program and seccomp profile. The container's cgroup is named by config.json and made by the runtime
 * (src/oci/create.ts), not per run.
 *
 * @example
 * ```ts ignore
 * import { processPlan } from "./plan.ts";
 * const fields = processPlan(config.process, [["PATH", "/bin"]], true, null);
 * console.log(fields.searchPath); // "/bin"
 * ```
 */
export function processPlan(
  p: OciProcess,
  env: [string, string][],
  setgroups: boolean,
  seccomp: string | null,
): Pick<
  Plan,
  | "uid"
  | "gid"
  | "groups"
  | "allowNewPrivs"
  | "rlimits"
  | "walltime"
  | "env"
  | "program"
  | "argv"
  | "searchPath"
  | "cwd"
  | "landlock"
  | "seccomp"
  | "cgroup"
> {
  return {
    uid: p.uid,
    gid: p.gid,
    groups: setgroups ? p.additionalGids : null,
    allowNewPrivs: !p.noNewPrivileges,
    rlimits: processRlimits(p),
    walltime: null,
    env,
    program: p.args[0],
    argv: p.args,
    searchPath: env.findLast(([k]) => k === "PATH")?.[1] ?? DEFAULT_SEARCH_PATH,
    cwd: sandboxPath(p.cwd, "process.cwd"),
    landlock: null,
    seccomp: seccomp === null ? unconfinedProfile() : ociProfile(seccomp, "linux.seccomp"),
    cgroup: null,
  };
}
