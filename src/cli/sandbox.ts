/**
 * From parsed `run`/`explain` arguments to a {@link Plan}: the policy
 * (given or the embedded KISS policy) is the base, flags go on top.
 *
 * @module
 */
import { defaultPolicy } from "../policy/default.ts";
import { logger } from "../common/log.ts";
import { buildPlan, currentHost, describeMount, type HostView, type Plan } from "../plan/plan.ts";
import type { Policy } from "../policy/policy.ts";
import { containerFromPolicy } from "../policy_container.ts";
import { describeLandlock } from "../plan/landlock.ts";
import { describeProfile, isEmpty } from "../seccomp/profile.ts";
import { seccompLines1x } from "../seccomp/lines_1x.ts";
import { type AllowNetPlan, describeAllowNet } from "../net/allow.ts";
import { UsageError } from "../common/errors.ts";
import { applyFlags, type FlagState, type SandboxFlags } from "./flags.ts";

/**
 * Imports a module of src/ that only some runs need (the policy parser, the 1.x config reader), `path` relative to
 * src/cli/. The specifier is made at run time: a literal import() would be resolved with the start-up graph, and
 * the npm packages beneath these modules (smol-toml, minijinja) boot Deno's npm resolver (several MiB, ~1 ms) on
 * every run (a `typeof import()` type is not followed). `scripts/compile.ts` names them for `deno compile`.
 *
 * @example
 * ```ts ignore
 * const { loadPolicyFile } = await loadLater<typeof import("../policy/policy.ts")>("../policy/policy.ts");
 * ```
 */
export function loadLater<T>(path: string): Promise<T> {
  return import(new URL(path, import.meta.url).href);
}

/** A resolved request: the policy it started from and the plan. */
export interface Resolved {
  /** The policy (with its includes merged). */
  policy: Policy;
  /** The plan to run. */
  plan: Plan;
}

/**
 * Builds the plan of `commandArgs` under the flags `o` and `state`. With `explain`, nothing on the host is
 * changed on the way (a 1.x config's `fs_mkdir` and `fs_touch` are logged instead).
 *
 * @example
 * ```ts ignore
 * const { plan } = await resolve(["ls", "/"], {}, newFlagState());
 * ```
 */
export async function resolve(
  commandArgs: string[],
  o: SandboxFlags,
  state: FlagState,
  options: { explain?: boolean } = {},
): Promise<Resolved> {
  if (typeof o.config === "string" && typeof o.policyFile === "string") {
    throw new UsageError("--config and --policy-file cannot be given together: each is the whole base", "--config");
  }
  const policy = typeof o.config === "string"
    ? await (await loadLater<typeof import("../policy/compat/config.ts")>("../policy/compat/config.ts")).loadConfig1x(
      o.config,
      // explain runs nothing: a 1.x template's fs_mkdir and fs_touch are logged, not done.
      { effects: !options.explain },
    )
    : typeof o.policyFile === "string"
    ? await (await loadLater<typeof import("../policy/policy.ts")>("../policy/policy.ts"))
      .loadPolicyFile(o.policyFile, "--policy-file")
    : defaultPolicy();
  logger("cli::run").info(`Configuration: ${JSON.stringify(policy.file)}`);
  // A 1.x config runs on its own defaults (containerFromPolicy), never over the KISS policy.
  const container = containerFromPolicy(policy);
  applyFlags(container, o, state);
  // 1.x's default command is /bin/sh; this project's is the caller's $SHELL.
  const shell = typeof o.config === "string" ? "/bin/sh" : Deno.env.get("SHELL") ?? "/bin/sh";
  const argv = commandArgs.length ? commandArgs : policy.command?.argv.length ? policy.command.argv : [shell];
  const plan = buildPlan(
    container.settings,
    { program: argv[0], args: argv.slice(1) },
    currentHost(),
    (m, level) => level === "warning" ? logger("executor").warn(m) : logger("executor").debug(m),
  );
  return { policy, plan };
}

/**
 * Logs the plan at info level, the way the seed's `--verbose` did.
 *
 * @example
 * ```ts ignore
 * logPlan((await resolve(["true"], {}, newFlagState())).plan);
 * ```
 */
export function logPlan(plan: Plan): void {
  const log = logger("executor");
  log.info(
    `Mount point: host_path: ${plan.root.source ? JSON.stringify(plan.root.source) : "tmpfs"}, container_path: "/"${
      plan.root.readonly ? ", readonly: true" : ""
    }${plan.root.layer ? ", layer: tmpfs" : ""}`,
  );
  for (const op of plan.mounts) log.info(`Mount point: ${describeMount(op)}`);
  for (const m of plan.uidMap) log.info(`UID map: host_id: ${m.host}, container_id: ${m.container}, count: ${m.count}`);
  for (const m of plan.gidMap) log.info(`GID map: host_id: ${m.host}, container_id: ${m.container}, count: ${m.count}`);
  log.info(`Namespaces: ${plan.namespaces.join(", ")}`);
  if (plan.namespaces.includes("uts")) log.info(`Hostname: ${plan.hostname}`);
  log.info(
    `Ids: uid: ${plan.uid}, gid: ${plan.gid}${plan.groups ? `, groups: [${plan.groups.join(", ")}]` : ""}${
      plan.allowNewPrivs ? ", no_new_privs: unset" : ""
    }`,
  );
  for (const l of plan.rlimits) log.info(`Limit: ${l.name}: ${l.value}`);
  if (plan.walltime !== null) log.info(`Limit: walltime: ${plan.walltime}s`);
  if (plan.cgroup) log.info(`Cgroup: ${describeCgroup(plan.cgroup)}`);
  for (const [k, v] of plan.env) log.info(`Env: ${k}=${JSON.stringify(v)}`);
  log.info(`Seccomp: ${describeProfile(plan.seccomp)}`);
  log.info(
    `Network: ${plan.network.mode}${plan.network.options.length ? ` ${JSON.stringify(plan.network.options)}` : ""}`,
  );
  if (plan.allowNet) log.info(`Allow net: ${describeAllowNetPlan(plan.allowNet)}`);
  for (const line of plan.landlock ? describeLandlock(plan.landlock) : ["Landlock: disabled"]) log.info(line);
  log.info(`Execve: ${plan.program} ${JSON.stringify(plan.argv)}, cwd: ${JSON.stringify(plan.cwd)}`);
  for (const line of debugLines1x(plan, currentHost())) log.debug(line);
}

/** An allow list and where its proxy is inside, on one line. */
function describeAllowNetPlan(a: AllowNetPlan): string {
  return `${describeAllowNet(a.rules)} (proxy at 127.0.0.1:${a.port} and ${a.socket} inside; nothing else)`;
}

/** The machine's own architecture in libseccomp's naming. */
function nativeArch(): string {
  return Deno.build.arch;
}

/**
 * The debug lines (`-vv`) in hakoniwa 1.x's words: the id maps, how many
 * seccomp rules for which architectures and each rule (src/seccomp/lines_1x.ts),
 * and the program with its arguments. A profile with nothing of its own
 * (`unconfined`) loads no filter of its own, so it has no seccomp line.
 *
 * @example
 * ```ts ignore
 * for (const line of debugLines1x(plan, currentHost())) console.log(line);
 * // UID mapping: container_id: 1000, host_id: 1000, count: 1
 * // Execve: "/usr/bin/true", []
 * ```
 */
export function debugLines1x(plan: Plan, host: HostView): string[] {
  const lines: string[] = [];
  for (const [what, map] of [["UID", plan.uidMap], ["GID", plan.gidMap]] as const) {
    for (const m of map) {
      lines.push(`${what} mapping: container_id: ${m.container}, host_id: ${m.host}, count: ${m.count}`);
    }
  }
  if (plan.seccomp && !isEmpty(plan.seccomp)) lines.push(...seccompLines1x(plan.seccomp, nativeArch()));
  const args = plan.argv.slice(1).map((a) => JSON.stringify(a)).join(", ");
  lines.push(`Execve: ${JSON.stringify(programPath(plan, host))}, [${args}]`);
  return lines;
}

/**
 * The path inside the sandbox of the program a plan runs: as given when it
 * has a slash, else the first directory of the search path holding it,
 * looked up through the plan's binds (or its rootdir) on the host. The
 * name as given when none does (the sandbox then reports it missing).
 *
 * @example
 * ```ts ignore
 * programPath(plan, currentHost()); // "/usr/bin/sleep" for `-- sleep 5` under the KISS policy
 * ```
 */
export function programPath(plan: Plan, host: HostView): string {
  if (plan.program.includes("/")) return plan.program;
  for (const dir of plan.searchPath.split(":")) {
    if (!dir.startsWith("/")) continue;
    const inside = `${dir.replace(/\/+$/, "")}/${plan.program}`;
    const onHost = hostPathOf(plan, inside);
    if (onHost !== null && host.isDirectory && !host.isDirectory(onHost) && host.realPath(onHost) !== null) {
      return inside;
    }
  }
  return plan.program;
}

/** The host path behind a sandbox path: the last bind covering it, else the rootdir; null for none. */
function hostPathOf(plan: Plan, inside: string): string | null {
  for (let i = plan.mounts.length - 1; i >= 0; i--) {
    const op = plan.mounts[i];
    if (op.kind === "readonly") continue; // a remount changes no content
    if (op.target !== "/" && inside !== op.target && !inside.startsWith(`${op.target}/`)) continue;
    if (op.kind !== "bind") return null; // a tmpfs, proc or made file: nothing of the host's
    return op.source + inside.slice(op.target === "/" ? 0 : op.target.length);
  }
  return plan.root.source === null ? null : plan.root.source.replace(/\/+$/, "") + inside;
}

/** The cgroup limits in a line: `memory 67108864 bytes, cpus 0.5, pids 32, beneath the caller's cgroup`. */
function describeCgroup(cg: NonNullable<Plan["cgroup"]>): string {
  const parts = [
    ...(cg.memory !== undefined ? [`memory ${cg.memory} bytes`] : []),
    ...(cg.cpus !== undefined ? [`cpus ${cg.cpus}`] : []),
    ...(cg.pids !== undefined ? [`pids ${cg.pids}`] : []),
  ];
  return `${parts.join(", ")}, beneath ${cg.parent ?? "the caller's cgroup"}`;
}

/**
 * The plan as an aligned, human-readable table.
 *
 * @example
 * ```ts ignore
 * console.log(planTable((await resolve(["true"], {}, newFlagState())).plan));
 * ```
 */
export function planTable(plan: Plan): string {
  const rows: [string, string][] = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  add("namespaces", plan.namespaces.join(", "));
  const layer = plan.root.layer ? ", on a tmpfs layer for what it lacks" : "";
  add("root", `${plan.root.source ?? "tmpfs"}${plan.root.readonly ? ` (read-only${layer})` : " (read-write)"}`);
  plan.mounts.forEach((op, i) => add(i ? "" : "mounts", `${String(i + 1).padStart(2)}. ${describeMount(op)}`));
  for (const [name, map] of [["uid map", plan.uidMap], ["gid map", plan.gidMap]] as const) {
    map.forEach((m, i) => add(i ? "" : name, `${m.container} -> ${m.host} (${m.count})`));
  }
  add("uid/gid", `${plan.uid}/${plan.gid}`);
  if (plan.groups) add("groups", plan.groups.length ? plan.groups.join(", ") : "none");
  if (plan.allowNewPrivs) add("no_new_privs", "unset (--allow-new-privs)");
  if (plan.namespaces.includes("uts")) add("hostname", plan.hostname);
  plan.rlimits.forEach((l, i) => add(i ? "" : "limits", `${l.name} = ${l.value}`));
  add("walltime", plan.walltime === null ? "none" : `${plan.walltime}s`);
  if (plan.cgroup) add("cgroup", describeCgroup(plan.cgroup));
  plan.env.forEach(([k, v], i) => add(i ? "" : "env", `${k}=${JSON.stringify(v)}`));
  add("program", plan.program);
  add("argv", JSON.stringify(plan.argv));
  add("cwd", plan.cwd);
  add("seccomp", describeProfile(plan.seccomp));
  add(
    "network",
    `${plan.network.mode}${plan.network.options.length ? ` ${JSON.stringify(plan.network.options)}` : ""}`,
  );
  if (plan.allowNet) add("allow net", describeAllowNetPlan(plan.allowNet));
  (plan.landlock ? describeLandlock(plan.landlock) : ["Landlock: disabled"]).forEach((l, i) =>
    add(i ? "" : "landlock", l.replace(/^Landlock: /, ""))
  );
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}
