/**
 * The decider (src/oci/decider.ts, native/oci_decide.c): the first `create` of a root runs in Deno and starts it, the
 * next ones are decided by it and spawned by bin/hakoniwa-oci, with the same outcome (state, pid file, the command
 * runs only at start, errors in the caller's log); HAKONIWA_OCI_DECIDER=0 keeps create in Deno; it leaves when idle.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { SKIP_REASON, WHO } from "../helpers.ts";
import { minimalConfig, oci, ociRootfs, writeConfig } from "./oci_helpers.ts";

const opts = { ignore: SKIP_REASON !== null, sanitizeResources: false, sanitizeOps: false };

async function until(what: string, check: () => boolean, ms = 10_000) {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sockets = (root: string) => {
  try {
    return [...Deno.readDirSync(root)].filter((e) => /^decider-[0-9a-f]{16}\.sock$/.test(e.name)).map((e) => e.name);
  } catch {
    return [];
  }
};

/** Ends every container of the root (a failed test leaves none waiting for a start). */
async function deleteAll(state: string) {
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(state)];
  } catch { /* no root: nothing made */ }
  for (const e of entries) {
    if (e.isDirectory && !e.name.startsWith(".")) await oci(state, ["delete", "--force", e.name]);
  }
}

/** The processes whose command line names `text`. */
function processesNaming(text: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(text)) found.push(Number(e.name));
    } catch { /* gone */ }
  }
  return found;
}

Deno.test(
  `the decider: started by the first create, it decides the next; same outcome; it leaves when idle [${WHO}]`,
  opts,
  async () => {
    const { dir } = ociRootfs();
    writeConfig(dir, minimalConfig(["/bin/sh", "-c", "echo ran > /tmp/mark"]));
    const state = `${dir}/state`, log = `${dir}/log`;
    const env = { HAKONIWA_OCI_DECIDER_IDLE_MS: "1500" };
    const o = (args: string[], extra: Record<string, string> = {}) =>
      oci(state, ["--log", log, "--log-format", "json", "--debug", ...args], { env: { ...env, ...extra } });
    const lastLine = () => JSON.parse(Deno.readTextFileSync(log).trim().split("\n").at(-1)!);
    try {
      assert.equal((await o(["create", "--bundle", dir, "c1"])).code, 0);
      assert.match(
        Deno.readTextFileSync(log),
        /create: runs in Deno; started the decider at .*decider-[0-9a-f]{16}\.sock/,
      );
      await until("the decider's socket", () => sockets(state).length === 1);
      const socket = `${state}/${sockets(state)[0]}`;
      const decider = processesNaming(socket);
      assert.equal(decider.length, 1);

      // Decided there, spawned here: the same state, pid file and lifecycle; the bundle and the pid file named
      // relative to the caller's working directory (the test's), not the decider's.
      const created = await o(["create", "--bundle", relative(Deno.cwd(), dir), "--pid-file", "pid", "c2"]);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(lastLine().msg, `create: decided by the decider at ${socket}`);
      const s = JSON.parse((await o(["state", "c2"])).stdout);
      assert.deepEqual([s.id, s.status, s.bundle], ["c2", "created", dir]);
      // The pid file's path is the caller's, relative to its working directory (the test's).
      assert.equal(Number(Deno.readTextFileSync("pid")), s.pid);
      Deno.removeSync("pid");
      // The init was the caller's child (bin/hakoniwa-oci's), never the decider's: with the caller gone, another
      // process (a subreaper, or init) has it.
      const ppid = Number(/PPid:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${s.pid}/status`))![1]);
      assert.notEqual(ppid, decider[0]);
      assert.throws(() => Deno.statSync(`${dir}/rootfs/tmp/mark`)); // nothing ran yet
      assert.equal((await o(["start", "c2"])).code, 0);
      await until("the command's mark", () => {
        try {
          return Deno.readTextFileSync(`${dir}/rootfs/tmp/mark`) === "ran\n";
        } catch {
          return false;
        }
      });
      assert.equal((await o(["delete", "--force", "c2"])).code, 0);
      assert.equal((await o(["delete", "--force", "c1"])).code, 0);

      // Side by side: 8 creates at once, each its own container.
      const ids = [...Array(8).keys()].map((i) => `p${i}`);
      const many = await Promise.all(ids.map((id) => o(["create", "--bundle", dir, id])));
      assert.deepEqual(many.map((r) => r.code), ids.map(() => 0), many.map((r) => r.stderr).join(""));
      const pids = new Set<number>();
      for (const id of ids) {
        const st = JSON.parse((await o(["state", id])).stdout);
        assert.equal(st.status, "created");
        pids.add(st.pid);
      }
      assert.equal(pids.size, 8);
      for (const id of ids) assert.equal((await o(["delete", "--force", id])).code, 0);

      // Errors come back as the caller's: in its --log, exit 1, nothing left behind.
      const bad = minimalConfig(["/bin/true"]);
      (bad.linux as Record<string, unknown>).resources = { blockIO: { weight: 10 } };
      writeConfig(dir, bad);
      const line = (n: number) => JSON.parse(Deno.readTextFileSync(log).trim().split("\n").at(n)!);
      assert.equal((await o(["create", "--bundle", dir, "c3"])).code, 1);
      assert.match(line(-2).msg, /config\.json: linux\.resources\.blockIO: not supported/);
      assert.equal(line(-2).level, "error");
      assert.match(line(-1).msg, /decided by the decider/);
      assert.deepEqual([...Deno.readDirSync(state)].filter((e) => e.isDirectory), []);
      const missing = await o(["create", "--bundle", `${dir}/nope`, "c4"]);
      assert.equal(missing.code, 1);
      assert.match(line(-2).msg, /nope/);

      // HAKONIWA_OCI_DECIDER=0: in Deno.
      writeConfig(dir, minimalConfig(["/bin/true"]));
      const before = Deno.readTextFileSync(log).length;
      assert.equal((await o(["create", "--bundle", dir, "c5"], { HAKONIWA_OCI_DECIDER: "0" })).code, 0);
      assert.doesNotMatch(Deno.readTextFileSync(log).slice(before), /decided by the decider/);
      assert.equal((await o(["delete", "--force", "c5"])).code, 0);

      // Idle: it removes its socket and exits.
      await until("the decider to leave", () => sockets(state).length === 0 && processesNaming(socket).length === 0);
    } finally {
      await deleteAll(state);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  `the decider: a socket of another user's at its name is never trusted; its own is the owner's alone [${WHO}]`,
  { ...opts, ignore: opts.ignore || Deno.uid() !== 0 },
  async () => {
    const { dir } = ociRootfs();
    writeConfig(dir, minimalConfig(["/bin/true"]));
    const state = `${dir}/state`, log = `${dir}/log`;
    const o = (args: string[]) =>
      oci(state, ["--log", log, "--debug", ...args], { env: { HAKONIWA_OCI_DECIDER_IDLE_MS: "60000" } });
    let squatter: Deno.ChildProcess | null = null;
    try {
      assert.equal((await o(["create", "--bundle", dir, "c1"])).code, 0);
      const socket = /started the decider at (\S+)"/.exec(Deno.readTextFileSync(log))![1];
      await until("the decider's socket", () => sockets(state).length === 1);
      assert.equal(Deno.statSync(socket).mode! & 0o777, 0o600);
      for (const pid of processesNaming(socket)) Deno.kill(pid, "SIGKILL");
      // A root directory others may write (the caller's choice), and another user listening at the decider's name.
      Deno.chmodSync(state, 0o777);
      Deno.removeSync(socket);
      squatter = new Deno.Command("setpriv", {
        args: [
          "--reuid",
          "65534",
          "--regid",
          "65534",
          "--clear-groups",
          "/usr/bin/python3",
          "-c",
          [
            "import socket, sys, time",
            "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)",
            "import os; os.chmod(sys.argv[1], 0o777)",
            "while True:",
            "  c, _ = s.accept()",
            "  try: c.sendall(b'\\x05\\x00\\x00\\x00\\x01\\x00hi')",
            "  except OSError: pass",
          ].join("\n"),
          socket,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await until("the other user's socket", () => sockets(state).length === 1);
      const before = Deno.readTextFileSync(log).length;
      const r = await o(["create", "--bundle", dir, "c2"]);
      assert.equal(r.code, 0, r.stderr);
      const said = Deno.readTextFileSync(log).slice(before);
      assert.doesNotMatch(said, /decided by the decider/);
      assert.match(said, /create: runs in Deno/);
      assert.equal(JSON.parse((await o(["state", "c2"])).stdout).status, "created");
      // It was there all along, listening: refused for its uid, not for want of a listener.
      assert.ok(Deno.statSync(`/proc/${squatter.pid}`).isDirectory);
      assert.equal(sockets(state).length, 1);
      for (const id of ["c1", "c2"]) assert.equal((await o(["delete", "--force", id])).code, 0);
    } finally {
      try {
        squatter?.kill("SIGKILL");
      } catch { /* ended */ }
      await squatter?.status;
      await deleteAll(state);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
