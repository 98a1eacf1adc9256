// Integration tests of the library: Container.command() shaped like Deno.Command, and the seed's Sandbox API.
import assert from "node:assert/strict";
import {
  Child,
  Container,
  HakoniwaError,
  kissContainer,
  loadPolicyFile,
  resolveSeccomp,
  Sandbox,
  SandboxPolicy,
  SetupError,
  Stdio,
  UsageError,
} from "../mod.ts";
import { loadNativeSync } from "../src/native/ffi.ts";
import { compileProfile, defaultProfile } from "../src/seccomp/profile.ts";
import { processesWith, ROOT, sandboxTest, SKIP_REASON, tempDir, waitFor } from "./helpers.ts";

// The native core stays loaded for the life of the process: load it before the tests' resource sanitizer looks.
// Load the core and libseccomp once, before the tests' resource checks.
if (!SKIP_REASON) {
  loadNativeSync();
  compileProfile(defaultProfile());
}

const dec = new TextDecoder();

/** The system's programs and libraries read-only, plus the safe defaults. */
function base(): Container {
  return new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
}

sandboxTest("output() collects stdout, stderr, the code and the report", async () => {
  const out = await base().command("/bin/sh", { args: ["-c", "echo out; echo err >&2; exit 3"] }).output();
  assert.equal(out.code, 3);
  assert.equal(out.success, false);
  assert.equal(out.signal, null);
  assert.equal(dec.decode(out.stdout), "out\n");
  assert.equal(dec.decode(out.stderr), "err\n");
  assert.equal(out.report.status, "OK");
  assert.equal(out.report.exitCode, 3);
  assert.ok(out.report.realTimeMs > 0 && out.report.startTime instanceof Date);
  const ok = await base().command("true").output();
  assert.equal(ok.success, true);
  assert.equal(ok.code, 0);
});

sandboxTest("options: args, env, cwd reach the command; the host's environment does not", async () => {
  Deno.env.set("HAKONIWA_HOST_SECRET", "s3cret");
  try {
    const c = base().env("FROM_CONTAINER", "c").dir("/work");
    const out = await c.command("/bin/sh", {
      args: ["-c", 'echo "$1|$FROM_CONTAINER|$FROM_OPTION|${HAKONIWA_HOST_SECRET:-unset}|$(pwd)"', "sh", "a b"],
      env: { FROM_OPTION: "o" },
      cwd: "/work",
    }).output();
    assert.equal(dec.decode(out.stdout), "a b|c|o|unset|/work\n");
  } finally {
    Deno.env.delete("HAKONIWA_HOST_SECRET");
  }
});

sandboxTest("the builder: tmpfs, file, symlink, hostname, rlimit and its alias limit, walltime", async () => {
  const c = base().tmpfs("/scratch").file("/etc/motd", "hello\n").symlink("/etc/motd", "/motd").hostname("box")
    .rlimit("nofile", 32).limit("nproc", 50).walltime(1);
  const out = await c.command("/bin/sh", {
    args: ["-c", "cat /motd; hostname; ulimit -n; ulimit -p; touch /scratch/x && echo w; exec sleep 5"],
  }).output();
  assert.equal(dec.decode(out.stdout), "hello\nbox\n32\n50\nw\n");
  assert.equal(out.report.status, "TLE");
  assert.equal(out.success, false);
  assert.throws(() => base().rlimit("nofile", -1), UsageError);
});

sandboxTest("stdout that is not piped cannot be read; null discards", async () => {
  const out = await base().command("/bin/sh", { args: ["-c", "echo gone"], stdout: "null" }).output();
  assert.throws(() => out.stdout, TypeError);
  assert.equal(dec.decode(out.stderr), "");
  const child = base().command("true", { stdout: "null", stderr: "null", stdin: "null" }).spawn();
  assert.throws(() => child.stdout, TypeError);
  assert.throws(() => child.stdin, TypeError);
  assert.equal((await child.status).code, 0);
  await assert.rejects(
    base().command("cat", { stdin: "piped" }).output(),
    (e) => e instanceof UsageError && /spawn\(\)/.test(e.message),
  );
});

sandboxTest("setup errors: SetupError with step, errno and path rejects output() and status", async () => {
  await assert.rejects(base().command("no-such-program-x").output(), (e) => {
    assert.ok(e instanceof SetupError && e instanceof HakoniwaError);
    assert.equal(e.name, "SetupError");
    assert.equal(e.step, "execve");
    assert.equal(e.errno, 2);
    assert.equal(e.code, "ENOENT");
    assert.equal(e.path, "no-such-program-x");
    return true;
  });
  const child = base().bindRo("/no/such/source", "/x").command("true", { stdout: "piped" }).spawn();
  await assert.rejects(child.status, (e) => e instanceof SetupError && e.step === "open-source");
  assert.deepEqual(await new Response(child.stdout).bytes(), new Uint8Array());
  // Bad settings throw before anything runs.
  assert.throws(() => base().command("true", { cwd: "relative" }).spawn(), UsageError);
  await assert.rejects(base().command("true", { cwd: "relative" }).output(), UsageError);
});

sandboxTest("spawn(): stdin and stdout streams carry a megabyte both ways", async () => {
  const child = base().command("cat", { stdin: "piped", stdout: "piped", stderr: "null" }).spawn();
  assert.ok(child instanceof Child && child.pid > 0);
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
  const writing = (async () => {
    const w = child.stdin.getWriter();
    for (let i = 0; i < data.length; i += 100_000) await w.write(data.subarray(i, i + 100_000));
    await w.close();
  })();
  const got = await new Response(child.stdout).bytes();
  await writing;
  assert.equal(got.length, data.length);
  assert.deepEqual(got, data);
  assert.equal((await child.status).status, "OK");
});

sandboxTest("kill(): a signal reaches the command; SIGKILL ends the whole sandbox", async () => {
  const child = base().command("sleep", { args: ["1001"], stdout: "null" }).spawn();
  assert.ok(await waitFor(() => processesWith("sleep 1001").length === 1));
  child.kill("SIGTERM");
  const st = await child.status;
  assert.equal(st.status, "SIG");
  assert.equal(st.signal, "SIGTERM");
  assert.equal(st.code, 143);
  child.kill("SIGKILL"); // after the end: nothing happens

  const tree = base().command("/bin/sh", { args: ["-c", "sleep 1002 & sleep 1003"] }).spawn();
  assert.ok(await waitFor(() => processesWith("sleep 1002").length + processesWith("sleep 1003").length === 2));
  tree.kill("SIGKILL");
  assert.equal((await tree.status).signal, "SIGKILL");
  assert.deepEqual([...processesWith("sleep 1002"), ...processesWith("sleep 1003")], []);
});

sandboxTest("signal: aborting kills the whole sandbox, an aborted signal runs nothing", async () => {
  const ac = new AbortController();
  const running = base().command("/bin/sh", { args: ["-c", "sleep 1004 & sleep 1005"], signal: ac.signal }).output();
  assert.ok(await waitFor(() => processesWith("sleep 1004").length + processesWith("sleep 1005").length === 2));
  ac.abort();
  const out = await running;
  assert.equal(out.report.status, "SIG");
  assert.equal(out.signal, "SIGKILL");
  assert.deepEqual([...processesWith("sleep 1004"), ...processesWith("sleep 1005")], []);
  await assert.rejects(
    base().command("true", { signal: ac.signal }).output(),
    (e) => (e as Error).name === "AbortError",
  );
});

sandboxTest("await using: leaving the scope kills the sandbox and closes its pipes", async () => {
  const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
  const before = fds();
  {
    await using child = base().command("sleep", { args: ["1006"], stdin: "piped", stdout: "piped" }).spawn();
    assert.ok(await waitFor(() => processesWith("sleep 1006").length === 1));
    assert.ok(child.pid > 0);
  }
  assert.deepEqual(processesWith("sleep 1006"), []);
  assert.equal(fds(), before);
});

sandboxTest("unref(): the process exits while a sandbox runs, and the sandbox dies with it", async () => {
  const script = `
    import { Container } from ${JSON.stringify(`${ROOT}/mod.ts`)};
    const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
    const child = c.command("sleep", { args: ["1007"], stdout: "null" }).spawn();
    child.unref();
    console.log("spawned " + child.pid);
  `;
  const started = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  assert.match(dec.decode(out.stdout), /^spawned \d+/);
  assert.ok(Date.now() - started < 20_000);
  assert.ok(await waitFor(() => processesWith("sleep 1007").length === 0));
});

sandboxTest("64 concurrent output() calls each return their own output", async () => {
  const c = base();
  const runs = Array.from(
    { length: 64 },
    (_, i) => c.command("/bin/sh", { args: ["-c", `echo out-${i}; echo err-${i} >&2; exit $((${i} % 7))`] }).output(),
  );
  const outs = await Promise.all(runs);
  outs.forEach((out, i) => {
    assert.equal(dec.decode(out.stdout), `out-${i}\n`);
    assert.equal(dec.decode(out.stderr), `err-${i}\n`);
    assert.equal(out.code, i % 7);
  });
});

sandboxTest("the seed's API: SandboxPolicy.fromStr, Sandbox, executor with binds, limits and stdio", async () => {
  const policy = SandboxPolicy.fromStr(`
mount_new_tmpfs = true
mount_new_devfs = true
mounts = [
  { source = "/bin"  , target = "/bin"  },
  { source = "/lib"  , target = "/lib"  },
  { source = "/lib64", target = "/lib64"},
  { source = "/usr"  , target = "/usr"  },
]
`);
  const sandbox = new Sandbox();
  sandbox.withPolicy(policy);
  const r = await sandbox.command("/bin/sh", ["/bin/sh", "-c", "cat /myetc/hostname >/dev/null && ulimit -t; cat"])
    .roBind("/etc", "/myetc").limitCpu(2).limitWalltime(5)
    .stdin(Stdio.piped()).input("fed\n").stdout(Stdio.piped()).stderr(Stdio.piped()).run();
  assert.equal(r.status, "OK", dec.decode(r.stderr));
  // RLIMIT_CPU is the backstop one second above the limit, which the sandbox's init keeps on the exact clock.
  assert.equal(dec.decode(r.stdout), "3\nfed\n");
  const se = await sandbox.command("no-such-program-y").stdout(Stdio.null()).run();
  assert.equal(se.status, "SE");
  assert.equal(se.exitCode, 125);
  assert.ok(se.error instanceof SetupError);
  const tle = await sandbox.command("sleep", ["sleep", "10"]).limitWalltime(1).run();
  assert.equal(tle.status, "TLE");
});

sandboxTest("examples/seed.ts (the seed's Rust example in TypeScript) runs a program in the KISS root", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", `${ROOT}/examples/seed.ts`, "/bin/sh", "-c", "ls /; exit 4"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 4, dec.decode(out.stderr));
  const listing = dec.decode(out.stdout).trim().split("\n");
  for (const d of ["bin", "dev", "lib", "proc", "tmp", "usr"]) assert.ok(listing.includes(d), listing.join(" "));
  assert.ok(!listing.includes("etc") && !listing.includes("home"));
});

sandboxTest("library errors say what is wrong in the library's words", async () => {
  // Nothing is bound: the error says so and how to start from the KISS policy.
  await assert.rejects(new Container().command("sh").output(), (e) => {
    assert.ok(e instanceof SetupError, String(e));
    assert.match(
      e.message,
      /^execve: command not found: sh: .*; nothing is bound at any directory of the PATH searched/,
    );
    assert.match(e.message, /bindRo\("\/usr"\).*kissContainer\(\)$/);
    return true;
  });
  await assert.rejects(new Container().command("/bin/sh").output(), /nothing is bound at \/bin: bind them/);
  const kiss = await kissContainer().command("sh", { args: ["-c", "echo kiss"] }).output();
  assert.equal(dec.decode(kiss.stdout), "kiss\n");
  // A directory as the command; an exec that Landlock refuses.
  await assert.rejects(
    base().command("/usr").output(),
    (e) => e instanceof SetupError && e.message === "execve: cannot execute the command: /usr: is a directory",
  );
  await assert.rejects(
    base().landlockRestrict("fs").command("/bin/true").output(),
    (e) =>
      e instanceof SetupError &&
      /^execve: refused by Landlock \(no rule allows executing beneath \/bin\/true\): \/bin\/true: Permission denied$/
        .test(e.message),
  );
  // A relative source is the source's fault, not the target's.
  assert.throws(() => new Container().bindRo("usr"), (e) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, 'bindRo: the source must be an absolute host path, got "usr"');
    return true;
  });
  assert.throws(() => new Container().bindRw("data", "/data"), /^UsageError: bindRw: the source must be an absolute/);
  // A wrong stdio value is a UsageError naming the option, and nothing runs.
  assert.throws(() => base().command("true", { stdout: "pipe" as "piped" }), (e) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.option, "stdout");
    assert.equal(e.message, 'stdout: expected "inherit", "piped" or "null", got "pipe"');
    return true;
  });
  // No CLI flag in the library's messages: they name options and methods.
  const messages: string[] = [];
  const collect = async (f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      assert.ok(e instanceof HakoniwaError, String(e));
      messages.push(e.message);
    }
  };
  await collect(() => loadPolicyFile("/no/such/policy.toml"));
  await collect(() => SandboxPolicy.fromFile("/no/such/policy.toml"));
  await collect(() => resolveSeccomp("nope"));
  await collect(() => resolveSeccomp("/no/such/profile.json"));
  await collect(() => base().uidMap(0, 4242, 1).command("true").plan());
  await collect(() => base().uid(77).uidMap(0, Deno.uid() ?? 0, 1).command("true").plan());
  assert.deepEqual(messages.map((m) => m.replace(/\d+/g, "N")), [
    "loadPolicyFile: cannot read /no/such/policy.toml: no such file or directory",
    "SandboxPolicy.fromFile: cannot read /no/such/policy.toml: no such file or directory",
    'seccomp: expected default (or podman), strict, audit, unconfined or the path of a JSON profile, got "nope"',
    "seccomp: cannot read /no/such/profile.json: no such file or directory",
    "uidMap: the uid map must map your own uid N (the sandbox is set up with it): add uidMap(ID, N)",
    "uid N is not in the uid map",
  ]);
  for (const m of messages) assert.doesNotMatch(m, /--[a-z]/);
});

sandboxTest(
  "the library needs only --allow-ffi --allow-read --allow-env --allow-sys (as the README says)",
  async () => {
    const dir = await tempDir();
    try {
      await Deno.chmod(dir, 0o755);
      await Deno.writeTextFile(
        `${dir}/use.ts`,
        `import { Container } from ${JSON.stringify(`${ROOT}/mod.ts`)};
const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
const out = await c.command("/bin/sh", { args: ["-c", "echo hi"] }).output();
console.log(out.code, new TextDecoder().decode(out.stdout).trim());
`,
      );
      // The checkout's deno.json: its npm packages come from node_modules, as in a project that depends on this one.
      const args = [
        "run",
        "--no-prompt",
        "--config",
        `${ROOT}/deno.json`,
        "--allow-ffi",
        "--allow-read",
        "--allow-env",
      ];
      args.push("--allow-sys", `${dir}/use.ts`);
      const out = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
        .output();
      assert.equal(dec.decode(out.stdout), "0 hi\n", dec.decode(out.stderr));
      // And not less: without --allow-ffi it fails.
      const less = await new Deno.Command(Deno.execPath(), {
        args: args.filter((a) => a !== "--allow-ffi"),
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.notEqual(less.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
