/**
 * The embedded KISS policy (`policies/KISS-policy.toml`), the default of the
 * CLI and of `kissContainer()`, without parsing it at run time:
 * scripts/generate.ts parses it with the same parser at build time and ships
 * the result, with each `{{ os_env "NAME" }}` (the policy's only templates,
 * whole `[env]` values) left to fill from this process's environment, as the
 * template would. `src/policy/default_test.ts` checks the two agree.
 *
 * @module
 */
import { DEFAULT_POLICY } from "../generated/policies.js";
import type { Policy } from "./policy.ts";

/**
 * The parsed embedded KISS policy, a new object each call: exactly what
 * `parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml")` returns.
 *
 * @example
 * ```ts
 * import { defaultPolicy } from "./default.ts";
 * console.log(defaultPolicy().mounts.map((m) => m.target)); // ["/bin", "/lib", "/lib64", "/usr", "/etc/alternatives"]
 * ```
 */
export function defaultPolicy(): Policy {
  const policy = JSON.parse(DEFAULT_POLICY.json) as Policy;
  for (const [key, name] of Object.entries(DEFAULT_POLICY.hostEnv)) policy.env[key] = Deno.env.get(name) ?? "";
  return policy;
}
