// Class: Landlock silently not applied. The core must enforce the rules it is given, and fail closed
// (exit 125, the command never runs) when a rule cannot be enforced.
import assert from "node:assert/strict";
import { IS_ROOT, SKIP_REASON, tempDir, WHO } from "../helpers.ts";
import { Container } from "../../src/container.ts";
import { buildPlan, currentHost } from "../../src/plan/plan.ts";
import { startSandbox } from "../../src/run/runner.ts";
import type { SpawnIo } from "../../src/run/spec.ts";

const WRITE_FILE = 1n << 1n, MAKE_REG = 1n << 8n, TRUNCATE = 1n << 14n;
const HANDLED = WRITE_FILE | MAKE_REG | TRUNCATE;

async function run(dir: string, landlock: SpawnIo["landlock"]) {
  const c = Container.empty().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRw(`${dir}/a`, "/a").bindRw(
    `${dir}/b`,
    "/b",
  );
  if (currentHost().realPath("/lib64")) c.bindRo("/lib64");
  const script = "touch /a/ok; touch /b/escaped; true";
  const plan = buildPlan(c.settings, { program: "/bin/sh", args: ["-c", script] }, currentHost());
  const sb = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: IS_ROOT, landlock });
  return await sb.finished;
}

Deno.test({
  name: `landlock: write rules are enforced and an unenforceable rule fails closed [${WHO}]`,
  ignore: SKIP_REASON !== null,
  sanitizeResources: false,
}, async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    const rules = { abi: 3, fs: HANDLED, net: 0n, scoped: 0n, ports: [] };
    const ok = await run(dir, { ...rules, paths: [{ path: "/a", access: HANDLED }] });
    assert.equal(ok.status, "OK", ok.reason);
    assert.ok(await Deno.stat(`${dir}/a/ok`));
    await assert.rejects(Deno.stat(`${dir}/b/escaped`), "a write outside the Landlock rules got through");
    // A rule on a path that does not exist, and access bits the kernel does not know: the command never runs.
    for (
      const bad of [{ ...rules, paths: [{ path: "/nowhere", access: HANDLED }] }, {
        ...rules,
        fs: 1n << 60n,
        paths: [],
      }]
    ) {
      await Deno.remove(`${dir}/a/ok`).catch(() => {});
      const r = await run(dir, bad);
      assert.equal(r.status, "SE", r.reason);
      assert.match(r.reason, /^landlock: /);
      await assert.rejects(Deno.stat(`${dir}/a/ok`), "the command ran although Landlock failed");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
