// Property tests of the policy parser: random and mutated policies end in a typed error or a valid plan,
// never a crash or a hang.
import assert from "node:assert/strict";
import fc from "fast-check";
import { HakoniwaError } from "../src/common/errors.ts";
import { parsePolicy } from "../src/policy/policy.ts";
import { containerFromPolicy } from "../src/policy_container.ts";
import { buildPlan, currentHost } from "../src/plan/plan.ts";
import { POLICIES } from "../src/generated/policies.js";

const SLOW = Deno.env.get("HAKONIWA_SLOW") === "1";
const RUNS = SLOW ? 20000 : 400;

/** Parse and plan; returns "ok" or the error class. Anything that is not a HakoniwaError is a bug. */
function outcome(text: string): string {
  const t0 = performance.now();
  try {
    const policy = parsePolicy(text, "fuzz.toml");
    buildPlan(containerFromPolicy(policy).settings, { program: "true", args: [] }, currentHost());
    return "ok";
  } catch (e) {
    if (e instanceof HakoniwaError) return e.name;
    throw new Error(`untyped error for ${JSON.stringify(text).slice(0, 300)}: ${e}`, { cause: e });
  } finally {
    assert.ok(performance.now() - t0 < 2000, `parsing took too long: ${JSON.stringify(text).slice(0, 300)}`);
  }
}

const key = fc.constantFrom(
  "mount_new_tmpfs",
  "mount_new_devfs",
  "mounts",
  "files",
  "env",
  "limits",
  "hostname",
  "uid",
  "gid",
  "share_net",
  "share_uts",
  "source",
  "target",
  "rw",
  "fstype",
  "contents",
  "nofile",
  "walltime",
  "as",
  "bogus",
);
const path = fc.oneof(
  fc.constantFrom("/", "/usr", "/tmp", "/a:b", "/a,b", "/a\\\\b", "/../x", "relative", "", "/a/./b", "/x\u0000y"),
  fc.string().map((s) => "/" + s),
);
const value: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "9223372036854775808",
    "18446744073709551616",
    "0x7fffffff",
    "nan",
    "inf",
    "[]",
    "{}",
    '"tmpfs"',
    '"proc"',
    "1979-05-27",
  ),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  path.map((p) => JSON.stringify(p)),
  fc.string().map((s) => JSON.stringify(s)),
);
const mount = fc.record({ k1: key, v1: value, k2: key, v2: value }).map(({ k1, v1, k2, v2 }) =>
  `{ ${k1} = ${v1}, ${k2} = ${v2} }`
);
const line = fc.oneof(
  fc.tuple(key, value).map(([k, v]) => `${k} = ${v}`),
  fc.array(mount, { maxLength: 4 }).map((ms) => `mounts = [${ms.join(", ")}]`),
  fc.tuple(key, key, value).map(([t, k, v]) => `[${t}]\n${k} = ${v}`),
  fc.constantFrom('{{ os_env "HOME" }}', "{{#if x}}", "{{", "}}", "[[mounts]]", "= =", "[env]\nA = 1"),
);
const policy = fc.array(line, { maxLength: 12 }).map((ls) => ls.join("\n"));

Deno.test("policy fuzz: random policies give a valid plan or a typed error", () => {
  fc.assert(fc.property(policy, (text) => void outcome(text)), { numRuns: RUNS });
});

Deno.test("policy fuzz: mutated shipped policies give a valid plan or a typed error", () => {
  const seeds = Object.values(POLICIES);
  const mutated = fc.tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.nat(4), fc.string()), { maxLength: 6 }),
  )
    .map(([text, edits]) => {
      let t = text;
      for (const [at, op, s] of edits) {
        const i = at % (t.length + 1);
        t = op === 0
          ? t.slice(0, i) + s + t.slice(i)
          : op === 1
          ? t.slice(0, i) + t.slice(i + s.length + 1)
          : op === 2
          ? t.slice(0, i) + t.slice(i).replace(/\d/, "9".repeat(30))
          : op === 3
          ? t + "\n" + t.slice(i)
          : t.slice(0, i) + "\n" + t.slice(0, i);
      }
      return t;
    });
  fc.assert(fc.property(mutated, (text) => void outcome(text)), { numRuns: RUNS });
});

Deno.test("policy fuzz: duplicate keys and huge numbers name the key", () => {
  for (
    const [text, re] of [
      ["uid = 1\nuid = 2", /uid|duplicate|defined/i],
      ["[limits]\nnofile = 99999999999999999999", /nofile/],
      ["[limits]\nwalltime = -5", /walltime/],
      ["hostname = 5", /hostname/],
    ] as const
  ) {
    assert.throws(() => parsePolicy(text, "t.toml"), (e: Error) => e instanceof HakoniwaError && re.test(e.message));
  }
});
