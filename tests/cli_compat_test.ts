// Integration tests of hakoniwa 1.x's flags and behaviours on the command line (docs/compat.md): `-c/--config`
// and the 1.x forms of the other flags. The 1.x cases themselves run in tests/compat/.
import assert from "node:assert/strict";
import { newFlagState } from "../src/cli/flags.ts";
import { resolve } from "../src/cli/sandbox.ts";
import { hakoniwa, ROOT, sandboxTest, tempDir } from "./helpers.ts";

sandboxTest(
  "-c/--config runs a 1.x config on its own defaults; flags go on top; the command defaults to its cmdline",
  async () => {
    const dir = await tempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/box.toml`,
        [
          'mounts = [{ source = "/bin" }, { source = "/lib" }, { source = "/lib64" }, { source = "/usr" }]',
          'envs = [{ name = "GREETING", value = "hi" }]',
          "[command]",
          'cmdline = ["/bin/sh", "-c", "echo $GREETING; ls /"]',
        ].join("\n") + "\n",
      );
      // No KISS policy underneath: /proc (as in 1.x), no /dev or /tmp unless the config mounts them.
      const r = await hakoniwa(["run", "-c", `${dir}/box.toml`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hi\nbin\nlib\nlib64\nproc\nusr\n");
      const flags = await hakoniwa(["run", "--config", `${dir}/box.toml`, "--tmpfs", "/scratch", "--", "ls", "/"]);
      assert.equal(flags.code, 0, flags.stderr);
      assert.equal(flags.stdout, "bin\nlib\nlib64\nproc\nscratch\nusr\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("-c: without a command in the config or after --, the command is 1.x's /bin/sh, not $SHELL", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'mounts = [{ source = "/bin" }]\n');
    const state = newFlagState();
    const { plan } = await resolve([], { config: `${dir}/c.toml` }, state);
    assert.deepEqual(plan.argv, ["/bin/sh"]);
    assert.deepEqual(plan.namespaces, ["user", "mount", "pid"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-c: an invalid config exits 2 naming file, line and key; --config with --policy-file is refused", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.toml`, 'mounts = [{ source = "/bin" }]\nhostnam = "x"\n');
    const r = await hakoniwa(["run", "-c", `${dir}/bad.toml`, "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^hakoniwa: ${dir}/bad\\.toml:2:1: hostnam: unknown key`));
    const both = await hakoniwa(["run", "-c", `${dir}/bad.toml`, "--policy-file", `${dir}/bad.toml`, "--", "true"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--config and --policy-file cannot be given together/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("-vv logs 1.x's id mapping, seccomp and execve lines; -v/-vv may come before run", async () => {
  const r = await hakoniwa(["-vv", "run", "--", "true", "a b"]);
  assert.equal(r.code, 0, r.stderr);
  const debug = r.stderr.split("\n").filter((l) => l.includes(" DEBUG ")).map((l) => l.replace(/^\[[^\]]*\] /, ""));
  const uid = Deno.uid(), gid = Deno.gid();
  assert.ok(debug.includes(`UID mapping: container_id: ${uid}, host_id: ${uid}, count: 1`), r.stderr);
  assert.ok(debug.includes(`GID mapping: container_id: ${gid}, host_id: ${gid}, count: 1`), r.stderr);
  assert.ok(debug.some((l) => /^Seccomp: Load \d+ rules for architectures\([A-Z0-9]+\)$/.test(l)), r.stderr);
  assert.ok(debug.includes('Execve: "/usr/bin/true", ["a b"]'), r.stderr);
  const unconfined = await hakoniwa(["run", "-vv", "--seccomp", "unconfined", "--", "true"]);
  assert.doesNotMatch(unconfined.stderr, /Seccomp: Load/, "no rules of its own, no line");
  const info = await hakoniwa(["--verbose", "run", "--", "true"]);
  assert.match(info.stderr, /INFO hakoniwa::executor\] Execve: /);
  assert.doesNotMatch(info.stderr, / DEBUG /);
});

const NOT_X86_64 = Deno.build.arch === "x86_64" ? null : "the profile names x86_64's arches";
if (NOT_X86_64) console.log(`skipping the 1.x seccomp lines test: ${NOT_X86_64}`);

sandboxTest("-vv counts the default action as a rule, sorts the arches and logs each rule, as 1.x", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/p.json`,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [
          { names: ["ptrace", "bpf"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
          { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_NE" }] },
        ],
      }),
    );
    const r = await hakoniwa(["run", "-vv", "--seccomp", `${dir}/p.json`, "--", "true"]);
    assert.equal(r.code, 0, r.stderr);
    const debug = r.stderr.split("\n").filter((l) => l.includes(" DEBUG ")).map((l) => l.replace(/^\[[^\]]*\] /, ""));
    const at = debug.findIndex((l) => l.startsWith("Seccomp: Load"));
    assert.deepEqual(debug.slice(at, at + 5), [
      "Seccomp: Load 4 rules for architectures(X32, X86, X8664)",
      "Seccomp rule: ... -> Allow",
      "Seccomp rule: ptrace(..) -> Errno(1)",
      "Seccomp rule: bpf(..) -> Errno(1)",
      "Seccomp rule: personality($0 != 8, ..) -> Errno(1)",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, NOT_X86_64);

sandboxTest(
  "under a 1.x config, a command killed by a signal or the walltime gets one line in 1.x's words; -q drops it",
  async () => {
    const config = `${ROOT}/tests/compat/fixtures/config/field-limits.toml`; // walltime 2 s
    const r = await hakoniwa(["run", "--config", config, "--", "sleep", "5"]);
    assert.equal(r.code, 137);
    assert.equal(r.stderr, "hakoniwa: Process(/usr/bin/sleep) received signal SIGKILL\n");
    const term = await hakoniwa(["run", "--config", config, "--", "/bin/sh", "-c", "kill -TERM $$"]);
    assert.equal(term.code, 143);
    assert.equal(term.stderr, "hakoniwa: Process(/bin/sh) received signal SIGTERM\n");
    const quiet = await hakoniwa(["-q", "run", "--config", config, "--", "sleep", "5"]);
    assert.equal(quiet.code, 137);
    assert.equal(quiet.stderr, "");
    const both = await hakoniwa(["run", "-q", "-v", "--", "true"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--quiet and --verbose contradict each other/);
  },
);

Deno.test('--seccomp podman and a 1.x config\'s seccomp.path = "podman" name the default profile', async () => {
  const flag = await resolve(["true"], { seccomp: "podman" }, newFlagState());
  assert.equal(flag.plan.seccomp?.name, "default");
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, '[seccomp]\npath = "podman"\n');
    const cfg = await resolve(["true"], { config: `${dir}/c.toml` }, newFlagState());
    assert.deepEqual(cfg.plan.seccomp, flag.plan.seccomp);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("-u/-g take 1.x's map ranges too; an explicit bind of a character device is usable", async () => {
  const uid = Deno.uid()!, gid = Deno.gid()!;
  const r = await hakoniwa(["run", "-u", `0:${uid}:1`, "-g", `0:${gid}`, "--", "/bin/sh", "-c", "id -u; id -g"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "0\n0\n");
  const twice = await hakoniwa(["run", "-u", "1", "-u", "2", "--", "true"]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /--uid is given twice/);
  const dev = await hakoniwa(["run", "-B", "/dev/null:/mydev/null", "--", "/bin/sh", "-c", "echo x > /mydev/null"]);
  assert.equal(dev.code, 0, dev.stderr);
});

Deno.test("--rootdir with its own /bin is not covered by the policy's host binds (unless --rootfs says so)", async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/sh`, "");
    const binds = async (flags: Record<string, unknown>) =>
      (await resolve(["/bin/true"], flags, newFlagState())).plan.mounts.filter((m) =>
        m.kind === "bind" && !m.source.startsWith("/dev/")
      ).length;
    assert.equal(await binds({ rootdir: { path: dir, rw: false } }), 0);
    assert.ok(await binds({ rootdir: { path: dir, rw: false }, rootfs: "/" }) > 0);
    await Deno.remove(`${dir}/bin/sh`);
    assert.ok(await binds({ rootdir: { path: dir, rw: false } }) > 0, "an empty /bin is a mount point: they stay");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
