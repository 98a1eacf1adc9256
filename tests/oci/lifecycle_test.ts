/**
 * bin/hakoniwa-oci driven as runc's callers drive it: create, state, start, kill, delete, ps, features; the command
 * runs only at start; errors as JSON lines in --log; unsupported fields refused by name; one id, one container.
 */
import assert from "node:assert/strict";
import { SKIP_REASON, WHO } from "../helpers.ts";
import { minimalConfig, oci, ociRootfs, writeConfig } from "./oci_helpers.ts";

const opts = { ignore: SKIP_REASON !== null, sanitizeResources: false, sanitizeOps: false };

function fresh(args: string[], extra: Record<string, unknown> = {}) {
  const { dir } = ociRootfs();
  writeConfig(dir, minimalConfig(args, extra));
  return { dir, state: `${dir}/state`, log: `${dir}/log.json` };
}

async function waitFor(what: string, check: () => Promise<boolean>) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Every test runs twice: through bin/hakoniwa-oci's C front end (start, state, kill, delete and ps without Deno), and
// with HAKONIWA_OCI_FRONT=0, all in Deno (src/oci/lifecycle.ts).
for (const [way, front] of [["front end", "1"], ["Deno only", "0"]] as const) {
  const o = (state: string, args: string[]) => oci(state, args, { env: { HAKONIWA_OCI_FRONT: front } });
  Deno.test(
    `create runs nothing until start; state follows created, running, stopped [${WHO}, ${way}]`,
    opts,
    async () => {
      const { dir, state } = fresh(["/bin/sh", "-c", "echo started > /tmp/mark; sleep 30"]);
      const created = await o(state, ["create", "--bundle", dir, "--pid-file", `${dir}/pid`, "c1"]);
      assert.equal(created.code, 0, created.stderr);
      const pid = Number(Deno.readTextFileSync(`${dir}/pid`));
      const s1 = JSON.parse((await o(state, ["state", "c1"])).stdout);
      assert.deepEqual([s1.ociVersion, s1.id, s1.status, s1.pid, s1.bundle], ["1.0.2", "c1", "created", pid, dir]);
      assert.deepEqual(s1.annotations, {});
      // Only the init and the command, waiting: nothing ran yet (the root is the bundle's, read-write).
      assert.throws(() => Deno.statSync(`${dir}/rootfs/tmp/mark`));
      assert.equal((await o(state, ["ps", "--format", "json", "c1"])).stdout.trim(), JSON.stringify([pid, pid + 1]));
      const again = await o(state, ["create", "--bundle", dir, "c1"]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /container with id c1 already exists/);
      assert.equal((await o(state, ["start", "c1"])).code, 0);
      await waitFor("the command's mark", () => {
        try {
          return Promise.resolve(Deno.readTextFileSync(`${dir}/rootfs/tmp/mark`) === "started\n");
        } catch {
          return Promise.resolve(false);
        }
      });
      assert.equal(JSON.parse((await o(state, ["state", "c1"])).stdout).status, "running");
      assert.match((await o(state, ["delete", "c1"])).stderr, /not stopped: running/);
      assert.equal((await o(state, ["kill", "c1", "TERM"])).code, 0); // the init forwards it; sleep dies
      await waitFor("stopped", async () => JSON.parse((await o(state, ["state", "c1"])).stdout).status === "stopped");
      assert.match((await o(state, ["kill", "c1", "9"])).stderr, /container not running/);
      assert.equal((await o(state, ["delete", "c1"])).code, 0);
      assert.match((await o(state, ["state", "c1"])).stderr, /container c1 does not exist/);
      Deno.removeSync(dir, { recursive: true });
    },
  );

  Deno.test(
    `delete --force ends a created container; kill --all reaches every process [${WHO}, ${way}]`,
    opts,
    async () => {
      const { dir, state } = fresh(["/bin/sh", "-c", "sleep 60 & sleep 61; true"]);
      assert.equal((await o(state, ["create", "--bundle", dir, "c2"])).code, 0);
      assert.equal((await o(state, ["delete", "--force", "c2"])).code, 0);
      assert.match((await o(state, ["state", "c2"])).stderr, /does not exist/);
      assert.equal((await o(state, ["create", "--bundle", dir, "c3"])).code, 0);
      assert.equal((await o(state, ["start", "c3"])).code, 0);
      let pids: number[] = [];
      await waitFor("both sleeps", async () => {
        pids = JSON.parse((await o(state, ["ps", "--format", "json", "c3"])).stdout);
        return pids.length === 4; // init, sh, two sleeps
      });
      assert.equal((await o(state, ["kill", "--all", "c3", "KILL"])).code, 0);
      await waitFor("stopped", async () => JSON.parse((await o(state, ["state", "c3"])).stdout).status === "stopped");
      for (const pid of pids.slice(1)) assert.throws(() => Deno.readTextFileSync(`/proc/${pid}/stat`));
      assert.equal((await o(state, ["delete", "c3"])).code, 0);
      Deno.removeSync(dir, { recursive: true });
    },
  );

  Deno.test(
    `errors are JSON lines in --log; unsupported fields are refused by name [${WHO}, ${way}]`,
    opts,
    async () => {
      const { dir, state, log } = fresh(["/bin/true"], {});
      const config = minimalConfig(["/bin/true"]);
      (config.linux as Record<string, unknown>).resources = { blockIO: { weight: 10 } };
      writeConfig(dir, config);
      const r = await o(state, ["--log", log, "--log-format", "json", "create", "--bundle", dir, "c4"]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, ""); // with --log, nothing on stderr (during create it is the container's)
      const last = JSON.parse(Deno.readTextFileSync(log).trim().split("\n").at(-1)!);
      assert.equal(last.level, "error");
      assert.match(last.msg, /config\.json: linux\.resources\.blockIO: not supported/);
      assert.match((await o(state, ["state", "c4"])).stderr, /does not exist/); // nothing left of it
      // A command that does not exist fails the create (exit 1, the error names it), as runc's does.
      writeConfig(dir, minimalConfig(["/no/such/program"]));
      const missing = await o(state, ["--log", log, "--log-format", "json", "create", "--bundle", dir, "c5"]);
      assert.equal(missing.code, 1);
      assert.match(Deno.readTextFileSync(log).trim().split("\n").at(-1)!, /execve.*\/no\/such\/program/);
      Deno.removeSync(dir, { recursive: true });
    },
  );

  Deno.test(`two creates of one id at once: one container [${WHO}, ${way}]`, opts, async () => {
    const { dir, state } = fresh(["/bin/true"]);
    const results = await Promise.all([1, 2, 3].map(() => o(state, ["create", "--bundle", dir, "same"])));
    assert.equal(results.filter((r) => r.code === 0).length, 1, results.map((r) => r.stderr).join("\n"));
    assert.equal((await o(state, ["delete", "--force", "same"])).code, 0);
    Deno.removeSync(dir, { recursive: true });
  });

  Deno.test(`--version, features and bad arguments [${WHO}, ${way}]`, opts, async () => {
    const { dir, state } = fresh(["/bin/true"]);
    assert.match((await o(state, ["--version"])).stdout, /^hakoniwa-oci version \d/);
    const features = JSON.parse((await o(state, ["features"])).stdout);
    assert.ok(features.linux.namespaces.includes("user"));
    assert.match((await o(state, ["kill", "x", "SIGNOPE"])).stderr, /invalid signal/);
    assert.match((await o(state, ["nope"])).stderr, /unknown command/);
    Deno.removeSync(dir, { recursive: true });
  });
}
