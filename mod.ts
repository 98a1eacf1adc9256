/**
 * hakoniwa: process isolation for Linux with namespaces, resource limits,
 * seccomp and Landlock, for Deno. A command runs on a root filesystem that
 * is a fresh tmpfs the host cannot see, built from a policy or from code.
 *
 * Run as the main module, this is the CLI:
 *
 * ```sh
 * deno run -A jsr:@hakoniwa/cli run -- sh
 * ```
 *
 * @module
 */
export { Container, type ContainerMount, type ContainerSettings } from "./src/container.ts";
export {
  HakoniwaError,
  PolicyError,
  type PolicyLocation,
  SetupError,
  type SetupStep,
  UsageError,
} from "./src/errors.ts";
export { containerFromPolicy, loadPolicyFile, parsePolicy, type Policy, type PolicyMount } from "./src/policy.ts";
export { type Report, reportJson, type Status } from "./src/report.ts";
export type { Namespace } from "./src/namespace.ts";
export type { RlimitName } from "./src/rlimit.ts";
export type { MountOp, Plan } from "./src/plan.ts";
export { type LandlockResource, type LandlockSettings, LandlockUnsupportedError } from "./src/landlock.ts";
export { type NetworkMode, type NetworkSettings, PastaError } from "./src/network.ts";
export {
  defaultProfile,
  type SeccompAction,
  type SeccompArg,
  type SeccompProfile,
  type SeccompRule,
  seedProfile,
} from "./src/seccomp.ts";
export { ociProfile, resolveSeccomp } from "./src/seccomp_oci.ts";

if (import.meta.main) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(Deno.args));
}
