/**
 * podman runs containers through bin/hakoniwa-oci (`--runtime`), as root and rootless, on a busybox root
 * (`--rootfs`): output, exit code, stdin, a terminal, --user, -w, -e, --hostname, pid and mount namespaces, a seccomp
 * profile and capabilities, and `run -d` then `stop`. podman keeps its storage in the test's own directory.
 */
import assert from "node:assert/strict";
import { IS_ROOT, pathExists, SKIP_REASON, WHO } from "../helpers.ts";
import { have, ociRootfs, run, RUNTIME } from "./oci_helpers.ts";

const missing = have("podman") ? null : "podman is not installed (scripts/debian_deps.sh installs it)";
if (missing) console.log(`skipping podman tests: ${missing}`);
const opts = { ignore: SKIP_REASON !== null || missing !== null, sanitizeResources: false, sanitizeOps: false };

const { dir, rootfs } = missing ? { dir: "", rootfs: "" } : ociRootfs();
const xdg = `${dir}/xdg`;
// podman's storage holds files of the container's ids (rootless: of its user namespace): podman removes it.
if (dir) {
  globalThis.addEventListener("unload", () => {
    new Deno.Command("podman", {
      args: [...globalFlags(), "system", "reset", "-f"],
      env: podmanEnv(),
      stdout: "null",
      stderr: "null",
    }).outputSync();
    Deno.removeSync(dir, { recursive: true });
  });
}

function globalFlags(): string[] {
  return [
    "--root",
    `${dir}/storage`,
    "--runroot",
    `${dir}/runroot`,
    "--storage-driver",
    "vfs",
    "--runtime",
    RUNTIME,
    ...(IS_ROOT ? ["--cgroup-manager", "cgroupfs"] : []),
  ];
}

function podmanEnv(): Record<string, string> | undefined {
  return IS_ROOT ? undefined : { XDG_RUNTIME_DIR: xdg };
}

/** podman with its own storage and this runtime; as root with cgroupfs (this machine has no systemd). */
function podman(args: string[], stdin?: string) {
  if (!IS_ROOT) Deno.mkdirSync(xdg, { recursive: true, mode: 0o700 });
  return run("podman", [...globalFlags(), ...args], { stdin, env: podmanEnv() });
}

/** `podman run --rm` of a shell script on the busybox root (podman's default nofile is above this machine's). */
function podmanRun(flags: string[], script: string, stdin?: string) {
  const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
  return podman(["run", "--rm", ...limits, ...flags, "--rootfs", rootfs, "/bin/sh", "-c", script], stdin);
}

Deno.test(`podman run: output and the exit code [${WHO}]`, opts, async () => {
  const r = await podmanRun([], "echo hello from hakoniwa; exit 7");
  assert.equal(r.stdout, "hello from hakoniwa\n", r.stderr);
  assert.equal(r.code, 7);
});

Deno.test(`podman run -i passes stdin; -t gives a terminal [${WHO}]`, opts, async () => {
  const i = await podmanRun(["-i"], "cat; echo done", "line one\nline two\n");
  assert.equal(i.stdout, "line one\nline two\ndone\n", i.stderr);
  const t = await podmanRun(["-t"], "test -t 0 && test -t 1 && echo terminal");
  assert.equal(t.stdout, "terminal\r\n", t.stderr);
  assert.equal(t.code, 0);
});

Deno.test(`podman run applies --user, -w, -e and --hostname [${WHO}]`, opts, async () => {
  const r = await podmanRun(
    ["--user", "1000:1001", "-w", "/tmp", "-e", "GREETING=hi there", "--hostname", "hk-box"],
    'id -u; id -g; pwd; echo "$GREETING"; hostname',
  );
  assert.equal(r.stdout, "1000\n1001\n/tmp\nhi there\nhk-box\n", r.stderr);
});

Deno.test(`podman run isolates pid and mount namespaces [${WHO}]`, opts, async () => {
  // Own pid namespace: hakoniwa's init is PID 1, the shell PID 2, and nothing of the host is there.
  const ps = await podmanRun([], "ps -o pid,comm; true");
  const rows = ps.stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
  assert.deepEqual(rows.slice(0, 2), [["1", "hakoniwa-init"], ["2", "sh"]], ps.stdout + ps.stderr);
  assert.equal(rows.length, 3, ps.stdout); // and ps itself
  // Own mount namespace: the root is the busybox tree; the host's directories are not there.
  const ls = await podmanRun([], "ls /; test -e /work || test -e " + dir + " || echo host-hidden");
  assert.match(ls.stdout, /\bbin\b/);
  assert.match(ls.stdout, /host-hidden/, ls.stdout + ls.stderr);
});

Deno.test(`podman run applies a seccomp profile and drops capabilities [${WHO}]`, opts, async () => {
  const profile = `${dir}/deny-mkdir.json`;
  Deno.writeTextFileSync(
    profile,
    JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    }),
  );
  const denied = await podmanRun(["--security-opt", `seccomp=${profile}`], "mkdir /tmp/x 2>&1; echo $?");
  assert.match(denied.stdout, /Operation not permitted\n1\n$/, denied.stdout + denied.stderr);
  const status = await podmanRun([], "grep -E '^(Seccomp|CapEff|CapBnd):' /proc/self/status");
  const field = (k: string) =>
    BigInt("0x" + /:\s*(\S+)/.exec(status.stdout.split("\n").find((l) => l.startsWith(k))!)![1]);
  assert.match(status.stdout, /Seccomp:\s+2/); // podman's default profile
  const SYS_ADMIN = 1n << 21n, NET_ADMIN = 1n << 12n;
  assert.equal(field("CapBnd") & (SYS_ADMIN | NET_ADMIN), 0n, status.stdout);
  assert.notEqual(field("CapBnd"), 0n); // podman's defaults (CAP_CHOWN, CAP_KILL...) are kept for root
  const user = await podmanRun(["--user", "1000"], "grep -E '^CapEff:' /proc/self/status");
  assert.match(user.stdout, /CapEff:\s+0000000000000000/, user.stdout + user.stderr);
  const dropped = await podmanRun(["--cap-drop", "all"], "grep -E '^CapBnd:' /proc/self/status");
  assert.match(dropped.stdout, /CapBnd:\s+0000000000000000/, dropped.stdout + dropped.stderr);
});

Deno.test(`podman run -d, then podman stop ends it within the timeout [${WHO}]`, opts, async () => {
  const name = `hk-stop-${Deno.pid}`;
  const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
  const started = await podman(["run", "-d", "--name", name, ...limits, "--rootfs", rootfs, "/bin/sleep", "1000"]);
  assert.equal(started.code, 0, started.stderr);
  const t0 = performance.now();
  const stopped = await podman(["stop", "-t", "10", name]);
  const took = performance.now() - t0;
  assert.equal(stopped.code, 0, stopped.stderr);
  // The init forwards SIGTERM to sleep at once: no wait for the 10 s before podman's SIGKILL.
  assert.ok(took < 8000, `podman stop took ${took} ms`);
  assert.equal((await podman(["ps", "-a", "--filter", `name=${name}`, "--format", "{{.Status}}"])).code, 0);
  const state = await podman(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name]);
  assert.equal(state.stdout.trim(), "exited 143", state.stderr);
  assert.equal((await podman(["rm", name])).code, 0);
});

Deno.test(`podman exec runs a process in a running container [${WHO}]`, opts, async () => {
  const name = `hk-exec-${Deno.pid}`;
  const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
  const started = await podman(["run", "-d", "--name", name, ...limits, "--rootfs", rootfs, "/bin/sleep", "1000"]);
  assert.equal(started.code, 0, started.stderr);
  try {
    const r = await podman([
      "exec",
      "-e",
      "WHO=exec",
      "--user",
      "1000",
      name,
      "/bin/sh",
      "-c",
      "echo $WHO $(id -u); ps -o comm; exit 3",
    ]);
    // In the container's pid namespace: its init and sleep are there.
    assert.equal(r.stdout, "exec 1000\nCOMMAND\nhakoniwa-init\nsleep\nsh\nps\n", r.stderr);
    assert.equal(r.code, 3);
    const i = await podman(["exec", "-i", name, "/bin/cat"], "through exec\n");
    assert.equal(i.stdout, "through exec\n", i.stderr);
  } finally {
    await podman(["rm", "-f", name]);
  }
});

/** A v1 hierarchy's directory of the cgroup podman (cgroupfs) names for container `id`. */
const podmanCgroup = (controller: string, id: string) => `/sys/fs/cgroup/${controller}/libpod_parent/libpod-${id}`;

Deno.test(
  `podman run --memory, --cpus, --pids-limit: the container's cgroup keeps them, delete removes it [${WHO}]`,
  { ...opts, ignore: opts.ignore || !IS_ROOT || !pathExists("/sys/fs/cgroup/memory/cgroup.procs") },
  async () => {
    const name = `hk-limits-${Deno.pid}`;
    const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
    const flags = ["--memory", "64m", "--memory-swap", "64m", "--cpus", "0.5", "--pids-limit", "16"];
    const started = await podman([
      "run",
      "-d",
      "--name",
      name,
      ...limits,
      ...flags,
      "--rootfs",
      rootfs,
      "sleep",
      "1000",
    ]);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    try {
      const pid = (await podman(["inspect", "--format", "{{.State.Pid}}", name])).stdout.trim();
      const read = (c: string, file: string) => Deno.readTextFileSync(`${podmanCgroup(c, id)}/${file}`).trim();
      assert.equal(read("memory", "memory.limit_in_bytes"), String(64 << 20));
      assert.equal(read("memory", "memory.memsw.limit_in_bytes"), String(64 << 20));
      assert.equal(read("cpu", "cpu.cfs_quota_us"), "50000");
      assert.equal(read("cpu", "cpu.cfs_period_us"), "100000");
      assert.equal(read("pids", "pids.max"), "16");
      for (const c of ["memory", "cpu", "pids", "cpuset"]) {
        assert.ok(read(c, "cgroup.procs").split("\n").includes(pid), `${c}: the init ${pid} is in the cgroup`);
      }
      // An exec joins the container's cgroup too.
      const exec = await podman(["exec", name, "/bin/cat", "/proc/self/cgroup"]);
      assert.match(exec.stdout, new RegExp(`memory:/libpod_parent/libpod-${id}\n`), exec.stdout + exec.stderr);
    } finally {
      assert.equal((await podman(["rm", "-f", name])).code, 0);
    }
    for (const c of ["memory", "cpu", "pids"]) assert.ok(!pathExists(podmanCgroup(c, id)), `${c}: removed with it`);
  },
);

Deno.test(
  `podman run --memory: past it the container is killed (137); --pids-limit refuses forks [${WHO}]`,
  { ...opts, ignore: opts.ignore || !IS_ROOT || !pathExists("/sys/fs/cgroup/memory/cgroup.procs") },
  async () => {
    // 100 MB held by the shell, against 32 MiB with no swap.
    const oom = await podmanRun(
      ["--memory", "32m", "--memory-swap", "32m"],
      "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived ${#x}",
    );
    assert.equal(oom.code, 137, oom.stdout + oom.stderr);
    assert.doesNotMatch(oom.stdout, /survived/);
    // 8 processes in all, the init and the shell among them: 12 background sleeps cannot all be forked (busybox's
    // shell gives up at the first fork refused); without the limit they can.
    const script = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done; echo all forked";
    const limited = await podmanRun(["--pids-limit", "8"], script);
    assert.notEqual(limited.code, 0, limited.stdout);
    assert.match(limited.stderr, /can't fork/);
    const free = await podmanRun([], script);
    assert.equal(free.stdout, "all forked\n", free.stderr);
  },
);
