/**
 * From a parsed {@link Policy} to a {@link Container}: the order in which a
 * policy's settings become mounts and options. Kept apart from the parser so
 * that running on the embedded default policy loads neither the TOML parser
 * nor the template engine (src/policy/default.ts).
 *
 * @module
 */
import { Container } from "./container.ts";
import { defaultPolicy } from "./policy/default.ts";
import { PolicyError, UsageError } from "./common/errors.ts";
import type { Policy } from "./policy/policy.ts";
import type { RlimitName } from "./plan/rlimit.ts";
import type { NetRule } from "./net/allow.ts";

/**
 * A container with the settings of the embedded KISS policy
 * (`policies/KISS-policy.toml`), the CLI's default: the host's /bin, /lib,
 * /lib64 and /usr read-only, a new /tmp, /dev and /proc, every namespace
 * new. `new Container()` binds nothing: this is the one to start from to
 * run the host's programs.
 *
 * @example
 * ```ts
 * import { kissContainer } from "jsr:@hakoniwa/cli";
 * const { stdout } = await kissContainer().command("sh", { args: ["-c", "echo hi"] }).output();
 * console.log(new TextDecoder().decode(stdout)); // "hi\n"
 * ```
 */
export function kissContainer(): Container {
  return containerFromPolicy(defaultPolicy());
}

/**
 * A container with a policy's settings: every namespace new except those
 * the policy shares, /proc always, then /tmp and /dev when asked, then the
 * mounts, files, dirs and symlinks in that order. A bind whose source does
 * not exist is skipped (the seed's policies name /lib64, which not every
 * distribution has): silently with `optional = true`, with a warning when
 * the mount does not say (see {@link missingBindSources}).
 *
 * @example
 * ```ts ignore
 * const c = containerFromPolicy(parsePolicy("share_net = true"));
 * ```
 */
export function containerFromPolicy(policy: Policy): Container {
  const c = Container.empty();
  for (const ns of ["ipc", "uts", "network", "cgroup"] as const) c.unshare(ns);
  if (policy.shareNet) c.share("network");
  if (policy.shareUts) c.share("uts");
  if (policy.shareIpc) c.share("ipc");
  if (policy.shareCgroup) c.share("cgroup");
  if (policy.rootdir) c.rootdir(policy.rootdir.path, { rw: policy.rootdir.rw });
  c.procfs("/proc");
  if (policy.tmpfsSize !== undefined) c.tmpfsSize(policy.tmpfsSize);
  if (policy.mountNewTmpfs) c.tmpfs("/tmp");
  if (policy.mountNewDevfs) c.devfs("/dev");
  for (const m of policy.mounts) {
    if (m.fstype === "tmpfs") c.tmpfs(m.target, m.size === undefined ? {} : { size: m.size });
    else if (m.fstype === "proc") c.procfs(m.target);
    else if (m.fstype === "devfs") c.devfs(m.target);
    else {
      // Not saying `optional` skips a missing source with a warning (the seed's policies name /lib64, which not
      // every distribution has); `optional = true` skips it silently, `optional = false` fails.
      const optional = m.optional ?? "warn";
      c.settings.mounts.push({ kind: "bind", source: m.source!, target: m.target, readonly: !m.rw, optional });
    }
  }
  for (const f of policy.files) c.file(f.target, f.contents);
  for (const d of policy.dirs) c.dir(d.target, d.mode);
  for (const s of policy.symlinks) c.symlink(s.original, s.link);
  for (const [k, v] of Object.entries(policy.env)) c.env(k, v);
  for (const [k, v] of Object.entries(policy.limits)) {
    if (k === "walltime") c.walltime(v);
    else if (k === "memory") c.limitMemory(v);
    else if (k === "cpus") c.limitCpus(v);
    else if (k === "pids") c.limitPids(v);
    else c.limit(k as RlimitName, v);
  }
  if (policy.cgroupParent !== undefined) c.cgroupParent(policy.cgroupParent);
  if (policy.hostname !== undefined) c.hostname(policy.hostname);
  if (policy.user !== undefined) {
    try {
      c.user(policy.user, policy.rootdir?.path ?? null);
    } catch (e) {
      // A name the passwd or group file lacks: said at the policy's file and key.
      if (!(e instanceof UsageError)) throw e;
      throw new PolicyError(e.message.replace(/^user: /, ""), { file: policy.file, key: "user" }, { cause: e });
    }
  }
  if (policy.userns) c.userns(policy.userns);
  if (policy.allowNewPrivs) c.allowNewPrivs();
  if (policy.uid !== undefined) c.uid(policy.uid);
  if (policy.gid !== undefined) c.gid(policy.gid);
  for (const m of policy.uidMaps) c.uidMap(m.container, m.host, m.count);
  for (const m of policy.gidMaps) c.gidMap(m.container, m.host, m.count);
  if (policy.cwd) c.workdir(policy.cwd);
  if (policy.command?.cwd) c.workdir(policy.command.cwd);
  if (policy.network) c.network(policy.network.mode, policy.network.options);
  const allowNet = policy.sections.allow_net as NetRule[] | undefined;
  if (allowNet?.length) {
    const open = policy.shareNet ? "share_net = true" : policy.network?.mode !== "none" && policy.network?.mode;
    if (open) {
      const why = `contradicts ${open === "share_net = true" ? open : `network mode "${open}"`}`;
      throw new PolicyError(`${why}: the allow list needs the sandbox's own network, with only lo`, {
        file: policy.file,
        key: "allow_net",
      });
    }
    c.allowNet(...allowNet.map((r) => r.text));
  }
  if (policy.landlock) c.settings.landlock = structuredClone(policy.landlock);
  if (policy.seccomp !== undefined) c.seccomp(policy.seccomp);
  return c;
}

/**
 * The binds of a container made from a policy whose source does not exist
 * and that the policy did not mark `optional = true`: each is skipped at
 * run time with a warning. `hakoniwa check` lists them.
 *
 * @example
 * ```ts
 * import { containerFromPolicy, missingBindSources } from "./policy_container.ts";
 * import { parsePolicy } from "./policy/policy.ts";
 * const c = containerFromPolicy(parsePolicy('mounts = [{ source = "/no/such", target = "/x" }]'));
 * console.log(missingBindSources(c)); // [{ source: "/no/such", target: "/x" }]
 * ```
 */
export function missingBindSources(container: Container): { source: string; target: string }[] {
  return container.settings.mounts.flatMap((m) => {
    if (m.kind !== "bind" || m.optional !== "warn") return [];
    try {
      Deno.statSync(m.source);
      return [];
    } catch (e) {
      return e instanceof Deno.errors.NotFound ? [{ source: m.source, target: m.target }] : [];
    }
  });
}
