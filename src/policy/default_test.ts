import assert from "node:assert/strict";
import { defaultPolicy } from "./default.ts";
import { POLICIES } from "../generated/policies.js";
import { parsePolicy } from "./policy.ts";

const VARS = ["LANG", "LANGUAGE", "LC_ALL", "TERM"];

/** parsePolicy's result as the shipped JSON carries it (keys whose value is undefined are absent). */
function parsedAtRunTime() {
  return JSON.parse(JSON.stringify(parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml")));
}

Deno.test("defaultPolicy: what parsing the KISS policy gives, for set, unset and awkward variables", () => {
  const saved = Object.fromEntries(VARS.map((k) => [k, Deno.env.get(k)]));
  try {
    const cases: Record<string, string | undefined>[] = [
      { LANG: "C.UTF-8", LANGUAGE: undefined, LC_ALL: "", TERM: "xterm-256color" },
      { LANG: 'quo"te\\back\nline\ttab', LANGUAGE: "日本語", LC_ALL: '{{ os_env "HOME" }}', TERM: "\u0001" },
      { LANG: undefined, LANGUAGE: undefined, LC_ALL: undefined, TERM: undefined },
    ];
    for (const env of cases) {
      for (const [k, v] of Object.entries(env)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      const got = defaultPolicy();
      assert.deepEqual(got, parsedAtRunTime());
      for (const k of VARS) assert.equal(got.env[k], env[k] ?? "", k);
    }
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("defaultPolicy: a new object each call", () => {
  const a = defaultPolicy();
  a.mounts.pop();
  a.env.LANG = "changed";
  assert.deepEqual(defaultPolicy().mounts.length, a.mounts.length + 1);
  assert.notEqual(defaultPolicy().env.LANG, "changed");
});
