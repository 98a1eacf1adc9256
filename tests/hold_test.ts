// HK_F_HOLD without map records: the sandbox's init is held; hk_held names it, the caller writes the id maps and
// releases it.
import assert from "node:assert/strict";
import { Container } from "../src/container.ts";
import { loadNative } from "../src/native/ffi.ts";
import { formatIdMap } from "../src/plan/idmap.ts";
import { buildPlan, currentHost } from "../src/plan/plan.ts";
import { encodeSpec } from "../src/run/spec.ts";
import { Reactor } from "../src/run/reactor.ts";
import { RESULT_SLOT } from "../src/generated/abi.js";
import { sandboxTest } from "./helpers.ts";

const RESULT = RESULT_SLOT.SLOTS * 8 + 1000;
const native = await loadNative();

function spawnHeld(script: string) {
  const c = new Container();
  for (const p of ["/usr", "/bin", "/lib", "/lib64"]) {
    c.settings.mounts.push({ kind: "bind", source: p, target: p, readonly: true, optional: true });
  }
  const plan = buildPlan(c.settings, { program: "/bin/sh", args: ["-c", script] }, currentHost());
  const devnull = native.hk_open_null();
  const io = {
    stdio: [devnull, devnull, devnull] as [number, number, number],
    session: "new" as const,
    setgroups: false,
  };
  const spec = encodeSpec(plan, io, { hold: true, callerWritesMaps: true });
  const out = new BigInt64Array(5);
  const err = new Uint8Array(RESULT);
  assert.equal(native.hk_spawn(spec, BigInt(spec.length), out, err), 0);
  native.hk_close(devnull);
  const [, pidfd, reportFd, start, hold] = Array.from(out, Number);
  const wait = async () => {
    const result = new Uint8Array(RESULT);
    await Reactor.of(native).ready(pidfd, "read");
    Reactor.of(native).forget(pidfd);
    native.hk_reap(pidfd, reportFd, BigInt(start), result);
    native.hk_close(pidfd);
    return Array.from(new BigInt64Array(result.buffer, 0, 2), Number);
  };
  return { plan, hold, wait };
}

sandboxTest("a held child waits for its maps and runs once released", async () => {
  const { plan, hold, wait } = spawnHeld("exit 7");
  const pid = Number(await native.hk_held(hold));
  assert.ok(pid > 0, `hk_held: ${pid}`);
  // Not mapped yet: the sandbox's init waits before any setup.
  assert.equal(Deno.readTextFileSync(`/proc/${pid}/uid_map`), "");
  Deno.writeTextFileSync(`/proc/${pid}/uid_map`, formatIdMap(plan.uidMap));
  Deno.writeTextFileSync(`/proc/${pid}/gid_map`, formatIdMap(plan.gidMap));
  assert.equal(native.hk_release(hold), 0);
  assert.deepEqual(await wait(), [1, 7]); // exited with 7
});

sandboxTest("closing the hold fd without a release makes the child give up", async () => {
  const { hold, wait } = spawnHeld("exit 0");
  assert.ok(Number(await native.hk_held(hold)) > 0);
  native.hk_close(hold);
  const [state, code] = await wait();
  assert.equal(state, 4, "no report: the init program gave up before setup");
  assert.equal(code, 125);
});
