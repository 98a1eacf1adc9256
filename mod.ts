/**
 * hakoniwa: process isolation for Linux with namespaces, resource limits,
 * seccomp and Landlock, for Deno. A command runs on a root filesystem that
 * is a fresh tmpfs the host cannot see, built from a policy or from code.
 *
 * As a library, shaped like `Deno.Command`:
 *
 * ```ts
 * import { Container } from "jsr:@hakoniwa/cli";
 * const out = await new Container()
 *   .bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true })
 *   .command("/bin/sh", { args: ["-c", "echo hello; ls /"] })
 *   .output();
 * console.log(out.code, new TextDecoder().decode(out.stdout));
 * ```
 *
 * Run as the main module, this is the CLI:
 *
 * ```sh
 * deno run -A jsr:@hakoniwa/cli run -- sh
 * ```
 *
 * @module
 */
export { Container, type ContainerMount, type ContainerSettings, ROOTFS_DIRS } from "./src/container.ts";
export { Command, type CommandOptions, type StdioOption } from "./src/command.ts";
export { Child, type ChildPipes, type ChildStatus, type CommandOutput } from "./src/child.ts";
export { type ExecutorResult, Sandbox, SandboxExecutor, SandboxPolicy, Stdio } from "./src/sandbox.ts";
export {
  HakoniwaError,
  PolicyError,
  type PolicyLocation,
  SETUP_STEPS,
  SetupError,
  type SetupStep,
  UsageError,
} from "./src/common/errors.ts";
export { containerFromPolicy, kissContainer } from "./src/policy_container.ts";
export {
  loadPolicyFile,
  parsePolicy,
  parsePolicyAsync,
  type Policy,
  type PolicyMount,
  type PolicyReader,
} from "./src/policy/policy.ts";
export { type Report, reportJson, type Status } from "./src/run/report.ts";
export { nativeLibraryInfo } from "./src/native/ffi.ts";
export { type Namespace, NAMESPACE_FLAGS } from "./src/plan/namespace.ts";
export { type RlimitName, RLIMITS } from "./src/plan/rlimit.ts";
export type { MountOp, Plan, RlimitEntry } from "./src/plan/plan.ts";
export type { MountFlags, OciPlan } from "./src/plan/types.ts";
export type { IdMapEntry } from "./src/plan/idmap.ts";
export type { CgroupLimits } from "./src/cgroup/cgroup.ts";
export {
  LANDLOCK_RESOURCES,
  type LandlockPathRule,
  type LandlockPortRule,
  type LandlockResource,
  type LandlockSettings,
  LandlockUnsupportedError,
} from "./src/plan/landlock.ts";
export { type NetworkMode, type NetworkSettings, PastaError } from "./src/net/network.ts";
export {
  type AllowNetPlan,
  type NetRefusal,
  type NetRule,
  type NetRuleKind,
  parseAllowNet,
  PROXY_PORT,
  PROXY_SOCKET,
} from "./src/net/allow.ts";
export {
  auditProfile,
  defaultProfile,
  type DismatchAction,
  type SeccompAction,
  type SeccompArg,
  type SeccompCmp,
  type SeccompProfile,
  type SeccompRule,
  seedProfile,
} from "./src/seccomp/profile.ts";
export { ociProfile, resolveSeccomp } from "./src/seccomp/oci.ts";

if (import.meta.main) {
  // Named at run time: a literal import() would have Deno read the CLI's modules with every library's start-up.
  const { main }: { main(args: string[]): Promise<number> } = await import(new URL("./cli.ts", import.meta.url).href);
  Deno.exit(await main(Deno.args));
}
