/**
 * Prints, as JSON, the embedded KISS policy (`policies/KISS-policy.toml`)
 * parsed by src/policy/policy.ts, for src/policy/default.ts: each
 * `{{ os_env "NAME" }}` is parsed as a marker string and listed in `hostEnv`
 * (value key -> variable name), to be filled at run time. The policy may use
 * templates only that way, as whole `[env]` values; anything else fails
 * here, so the shipped result always equals a run-time parse.
 * scripts/generate.ts runs it in a fresh process and writes
 * src/generated/policies.js.
 */
import { parsePolicy } from "../src/policy/policy.ts";

const FILE = "KISS-policy.toml";
const source = await Deno.readTextFile(new URL(`../policies/${FILE}`, import.meta.url));
const mark = (name: string) => `@hakoniwa-os-env:${name}@`;
if (source.includes("@hakoniwa-os-env:")) throw new Error(`${FILE} holds the marker text itself`);
const marked = source.replace(/\{\{\s*os_env\s+"([A-Za-z_][A-Za-z0-9_]*)"\s*\}\}/g, (_, name) => `"${mark(name)}"`);
if (marked.includes("{{")) {
  throw new Error(`${FILE}: only {{ os_env "NAME" }} as a whole [env] value can be shipped parsed`);
}

const policy = parsePolicy(marked, FILE, () => {
  throw new Error(`${FILE}: an include cannot be shipped parsed`);
});
const hostEnv: Record<string, string> = {};
for (const [key, value] of Object.entries(policy.env)) {
  const m = /^@hakoniwa-os-env:(.+)@$/.exec(value);
  if (m) {
    hostEnv[key] = m[1];
    policy.env[key] = "";
  }
}
const json = JSON.stringify(policy);
if (json.includes("@hakoniwa-os-env:")) {
  throw new Error(`${FILE}: {{ os_env }} is shipped parsed only as a whole [env] value`);
}
console.log(JSON.stringify({ json, hostEnv }));
