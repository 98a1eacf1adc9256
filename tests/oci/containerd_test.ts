/**
 * containerd runs a container through bin/hakoniwa-oci with its runc shim (io.containerd.runc.v2, the binary given
 * by `ctr run --runc-binary`, as a RuntimeClass's `BinaryName` gives it): the command's output and exit code, and a
 * detached task with a process exec'd into it, its process list and its kill. The
 * test starts a containerd of its own (its socket, root and state in the test's directory); containerd needs root.
 */
import assert from "node:assert/strict";
import { IS_ROOT } from "../helpers.ts";
import { have, ociRootfs, run, RUNTIME } from "./oci_helpers.ts";

const missing = !IS_ROOT
  ? "containerd runs as root (the rootless run covers podman)"
  : !have("containerd") || !have("ctr")
  ? "containerd is not installed (scripts/debian_deps.sh installs it)"
  : null;
if (missing) console.log(`skipping the containerd test: ${missing}`);

Deno.test({
  name: "ctr run --runc-binary bin/hakoniwa-oci: output and exit code [root]",
  ignore: missing !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { dir, rootfs } = ociRootfs();
    const sock = `${dir}/containerd.sock`;
    Deno.writeTextFileSync(
      `${dir}/config.toml`,
      `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
`,
    );
    const daemon = new Deno.Command("containerd", {
      args: ["--config", `${dir}/config.toml`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      for (let i = 0; i < 200 && (await run("ctr", ["--address", sock, "version"])).code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const ctr = (id: string, script: string) =>
        run("ctr", [
          "--address",
          sock,
          "run",
          "--rm",
          "--runc-binary",
          RUNTIME,
          "--rootfs",
          rootfs,
          id,
          "/bin/sh",
          "-c",
          script,
        ]);
      const r = await ctr(`hk-${Deno.pid}`, "echo hello from containerd; hostname; exit 4");
      assert.equal(r.stdout, `hello from containerd\n${Deno.hostname()}\n`, r.stderr); // ctr names none
      assert.equal(r.code, 4);
      const ok = await ctr(`hk-${Deno.pid}-b`, "test $$ = 2 && cat /proc/1/comm");
      assert.equal(ok.stdout, "hakoniwa-init\n", ok.stderr);
      assert.equal(ok.code, 0);
      // ctr's --memory-limit reaches the cgroup containerd names (/default/ID, in the container's view too: no cgroup
      // namespace), and the cgroup is gone with the container.
      const limited = `hk-${Deno.pid}-m`;
      const memory = await run("ctr", [
        "--address",
        sock,
        "run",
        "--rm",
        "--memory-limit",
        String(48 << 20),
        "--runc-binary",
        RUNTIME,
        "--rootfs",
        rootfs,
        limited,
        "/bin/sh",
        "-c",
        "grep :memory: /proc/self/cgroup; x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
      ]);
      assert.equal(memory.stdout, `${memory.stdout.split(":")[0]}:memory:/default/${limited}\n`, memory.stderr);
      assert.equal(memory.code, 137); // 100 MB held against 48 MiB (this machine has no swap)
      assert.throws(() => Deno.statSync(`/sys/fs/cgroup/memory/default/${limited}`));
      // A detached task, a process exec'd into it (runtime exec --detach), its processes (runtime ps), a kill.
      const id = `hk-${Deno.pid}-d`;
      const c = (...args: string[]) => run("ctr", ["--address", sock, ...args]);
      const detached = await c("run", "-d", "--runc-binary", RUNTIME, "--rootfs", rootfs, id, "/bin/sleep", "100");
      assert.equal(detached.code, 0, detached.stderr);
      const exec = await c(
        "task",
        "exec",
        "--exec-id",
        "e1",
        id,
        "/bin/sh",
        "-c",
        "echo from exec; ps -o comm; exit 6",
      );
      assert.equal(exec.stdout, "from exec\nCOMMAND\nhakoniwa-init\nsleep\nsh\nps\n", exec.stderr);
      assert.equal(exec.code, 6);
      const ps = await c("task", "ps", id);
      assert.equal(ps.stdout.trim().split("\n").length, 3, ps.stdout); // header, init, sleep
      assert.equal((await c("task", "kill", id)).code, 0);
      for (let i = 0; i < 100 && !/STOPPED/.test((await c("task", "ls")).stdout); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match((await c("task", "ls")).stdout, new RegExp(`${id}\\s+\\d+\\s+STOPPED`));
      assert.equal((await c("task", "delete", id)).code, 0);
      assert.equal((await c("container", "delete", id)).code, 0);
    } finally {
      daemon.kill("SIGTERM");
      await daemon.status;
      await run("umount", ["-R", `${dir}/state`]).catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
