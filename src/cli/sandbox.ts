/**
 * From parsed `run`/`explain` arguments to a {@link Plan}: the policy
 * (given or the embedded KISS policy) is the base, flags go on top.
 *
 * @module
 */
import { POLICIES } from "../generated/policies.ts";
import { logger } from "../log.ts";
import { buildPlan, currentHost, describeMount, type Plan } from "../plan.ts";
import { containerFromPolicy, loadPolicyFile, parsePolicy, type Policy } from "../policy.ts";
import { describeLandlock } from "../landlock.ts";
import { describeProfile } from "../seccomp.ts";
import { applyFlags, type FlagState, type SandboxFlags } from "./flags.ts";

/** A resolved request: the policy it started from and the plan. */
export interface Resolved {
  /** The policy (with its includes merged). */
  policy: Policy;
  /** The plan to run. */
  plan: Plan;
}

/**
 * Builds the plan of `commandArgs` under the flags `o` and `state`.
 *
 * @example
 * ```ts ignore
 * const { plan } = await resolve(["ls", "/"], {}, newFlagState());
 * ```
 */
export async function resolve(commandArgs: string[], o: SandboxFlags, state: FlagState): Promise<Resolved> {
  const policy = typeof o.policyFile === "string"
    ? await loadPolicyFile(o.policyFile, "--policy-file")
    : parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml");
  logger("cli::run").info(`Configuration: ${JSON.stringify(policy.file)}`);
  const container = containerFromPolicy(policy);
  applyFlags(container, o, state);
  const argv = commandArgs.length ? commandArgs : policy.command?.argv ?? [Deno.env.get("SHELL") ?? "/bin/sh"];
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
    }`,
  );
  for (const op of plan.mounts) log.info(`Mount point: ${describeMount(op)}`);
  for (const m of plan.uidMap) log.info(`UID map: host_id: ${m.host}, container_id: ${m.container}, count: ${m.count}`);
  for (const m of plan.gidMap) log.info(`GID map: host_id: ${m.host}, container_id: ${m.container}, count: ${m.count}`);
  log.info(`Namespaces: ${plan.namespaces.join(", ")}`);
  if (plan.namespaces.includes("uts")) log.info(`Hostname: ${plan.hostname}`);
  log.info(`Ids: uid: ${plan.uid}, gid: ${plan.gid}`);
  for (const l of plan.rlimits) log.info(`Limit: ${l.name}: ${l.value}`);
  if (plan.walltime !== null) log.info(`Limit: walltime: ${plan.walltime}s`);
  for (const [k, v] of plan.env) log.info(`Env: ${k}=${JSON.stringify(v)}`);
  log.info(`Seccomp: ${describeProfile(plan.seccomp)}`);
  log.info(
    `Network: ${plan.network.mode}${plan.network.options.length ? ` ${JSON.stringify(plan.network.options)}` : ""}`,
  );
  for (const line of plan.landlock ? describeLandlock(plan.landlock) : ["Landlock: disabled"]) log.info(line);
  log.info(`Execve: ${plan.program} ${JSON.stringify(plan.argv)}, cwd: ${JSON.stringify(plan.cwd)}`);
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
  add("root", `${plan.root.source ?? "tmpfs"}${plan.root.readonly ? " (read-only)" : " (read-write)"}`);
  plan.mounts.forEach((op, i) => add(i ? "" : "mounts", `${String(i + 1).padStart(2)}. ${describeMount(op)}`));
  for (const [name, map] of [["uid map", plan.uidMap], ["gid map", plan.gidMap]] as const) {
    map.forEach((m, i) => add(i ? "" : name, `${m.container} -> ${m.host} (${m.count})`));
  }
  add("uid/gid", `${plan.uid}/${plan.gid}`);
  if (plan.namespaces.includes("uts")) add("hostname", plan.hostname);
  plan.rlimits.forEach((l, i) => add(i ? "" : "limits", `${l.name} = ${l.value}`));
  add("walltime", plan.walltime === null ? "none" : `${plan.walltime}s`);
  plan.env.forEach(([k, v], i) => add(i ? "" : "env", `${k}=${JSON.stringify(v)}`));
  add("program", plan.program);
  add("argv", JSON.stringify(plan.argv));
  add("cwd", plan.cwd);
  add("seccomp", describeProfile(plan.seccomp));
  add(
    "network",
    `${plan.network.mode}${plan.network.options.length ? ` ${JSON.stringify(plan.network.options)}` : ""}`,
  );
  (plan.landlock ? describeLandlock(plan.landlock) : ["Landlock: disabled"]).forEach((l, i) =>
    add(i ? "" : "landlock", l.replace(/^Landlock: /, ""))
  );
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}
