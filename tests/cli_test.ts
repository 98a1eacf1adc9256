// Integration tests of the command line: every flag of `run`, `explain`, `check`, `completion`.
import assert from "node:assert/strict";
import { newFlagState } from "../src/cli/flags.ts";
import { resolve } from "../src/cli/sandbox.ts";
import type { Plan } from "../src/plan/plan.ts";
import { planFromJson, planToJson } from "../src/plan/json.ts";
import { encodeSpec } from "../src/run/spec.ts";
import { CLI_SH, hakoniwa, IS_ROOT, ROOT, sandboxSh, sandboxTest, tempDir } from "./helpers.ts";

function nsOf(kind: string): string {
  return Deno.readLinkSync(`/proc/self/ns/${kind}`);
}

sandboxTest("-b/--bindmount-ro and -B/--bindmount-rw bind like --ro-bind and --rw-bind", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/in`, "hello\n");
    const r = await sandboxSh(
      "cat /ro/in /ro2/in; touch /ro/x 2>/dev/null || echo ro; touch /ro2/x 2>/dev/null || echo ro2; echo w > /rw/out; echo w2 > /rw2/out2",
      ["-b", `${dir}:/ro`, "--bindmount-ro", `${dir}:/ro2`, "-B", `${dir}:/rw`, "--bindmount-rw", `${dir}:/rw2`],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "hello\nhello\nro\nro2\n");
    assert.equal(await Deno.readTextFile(`${dir}/out`), "w\n");
    assert.equal(await Deno.readTextFile(`${dir}/out2`), "w2\n");
    const missing = await hakoniwa(["run", "-b", "/no/such/src", "--", "true"]);
    assert.equal(missing.code, 125, "a CLI bind with a missing source fails");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("--tmpfs, --devfs, --dir and --symlink create what they say, in order", async () => {
  const r = await sandboxSh(
    "stat -f -c %T /scratch; echo x > /scratch/f && cat /scratch/f; ls /dev2; stat -c %a /made /made/sub; " +
      "readlink /link; cat /link/f",
    [
      "--tmpfs",
      "/scratch",
      "--devfs",
      "/dev2",
      "--dir",
      "/made:700",
      "--dir",
      "/made/sub",
      "--symlink",
      "/scratch:/link",
    ],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "tmpfs\nx\nfd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n700\n700\n/scratch\nx\n",
  );
  for (const bad of [["--dir", "/d:9"], ["--symlink", "/only"], ["--tmpfs", "rel"], ["--devfs", "dev"]]) {
    const u = await hakoniwa(["run", ...bad, "--", "true"]);
    assert.equal(u.code, 2, `${bad.join(" ")}: ${u.stderr}`);
    assert.match(u.stderr, new RegExp(bad[0]));
  }
});

sandboxTest("--rootfs DIR binds its system directories; --rootfs none drops the policy's binds", async () => {
  const r = await sandboxSh(
    "test -e /etc/passwd && echo etc; test -d /sbin && echo sbin; ls /usr >/dev/null && echo usr",
    [
      "--rootfs",
      "/",
    ],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "etc\nsbin\nusr\n");
  const none = await hakoniwa(["run", "--rootfs", "none", "--", "/bin/sh", "-c", "true"]);
  assert.equal(none.code, 125, "no /bin/sh without binds");
  assert.match(none.stderr, /command not found: \/bin\/sh/);
  const lib64 = (() => {
    try {
      return Deno.statSync("/lib64").isDirectory;
    } catch {
      return false;
    }
  })();
  const binds = ["-b", "/usr", "-b", "/bin", "-b", "/lib", ...(lib64 ? ["-b", "/lib64"] : [])];
  const back = await sandboxSh("ls /", ["--rootfs", "none", ...binds]);
  assert.equal(back.code, 0, back.stderr);
  const listing = ["bin", "dev", "lib", "lib64", "proc", "tmp", "usr"].filter((d) => lib64 || d !== "lib64");
  assert.deepEqual(back.stdout.trim().split("\n"), listing);
  // A relative DIR is the caller's path (1.x's form): here the way from the working directory up to /.
  const up = Deno.cwd().split("/").filter(Boolean).map(() => "..").join("/") || ".";
  const rel = await sandboxSh("test -e /etc/passwd && echo etc", ["--rootfs", up]);
  assert.equal(rel.code, 0, rel.stderr);
  assert.equal(rel.stdout, "etc\n");
});

sandboxTest("--unshare-* and --unshare-all make new namespaces on top of a policy that shares them", async () => {
  const dir = await tempDir();
  try {
    const policy = `${dir}/share.toml`;
    await Deno.writeTextFile(
      policy,
      'include = ["' + ROOT +
        '/policies/KISS-policy.toml"]\nshare_net = true\nshare_uts = true\nshare_ipc = true\nshare_cgroup = true\n',
    );
    const kinds = ["cgroup", "ipc", "net", "uts"];
    const host = kinds.map(nsOf);
    const inside = async (flags: string[]) => {
      const r = await sandboxSh(kinds.map((k) => `readlink /proc/self/ns/${k}`).join("; "), [
        "--policy-file",
        policy,
        ...flags,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split("\n").map((l, i) => l === host[i] ? "shared" : "new");
    };
    assert.deepEqual(await inside([]), ["shared", "shared", "shared", "shared"]);
    assert.deepEqual(await inside(["--unshare-cgroup", "--unshare-uts"]), ["new", "shared", "shared", "new"]);
    assert.deepEqual(await inside(["--unshare-ipc", "--unshare-network"]), ["shared", "new", "new", "shared"]);
    assert.deepEqual(await inside(["--unshare-all"]), ["new", "new", "new", "new"]);
    assert.deepEqual(await inside(["--unshare-all", "--share-net"]), ["new", "new", "shared", "new"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The first host uid and gid of a range of 1000 ids the system grants for --uidmap/--gidmap: root may map any (a
 * range near the top, which no account takes), others what /etc/subuid and /etc/subgid grant them.
 */
const SUB = (() => {
  if (IS_ROOT) return { uid: 3_000_000_000, gid: 3_000_000_000 };
  const granted = (file: string) => {
    const me = [Deno.env.get("USER") ?? "", String(Deno.uid())];
    try {
      for (const line of Deno.readTextFileSync(file).split("\n")) {
        const [who, start, count] = line.trim().split(":");
        if (me.includes(who) && Number(count) >= 1000) return Number(start);
      }
    } catch { /* none */ }
    return null;
  };
  const uid = granted("/etc/subuid"), gid = granted("/etc/subgid");
  return uid === null || gid === null ? null : { uid, gid };
})();

sandboxTest("--uidmap/--gidmap write several ranges (newuidmap/newgidmap when rootless)", async () => {
  if (SUB === null) {
    console.log("  skipped: /etc/subuid or /etc/subgid grants this user no range of 1000 ids");
    return;
  }
  const r = await sandboxSh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g", [
    "--uidmap",
    `0:${SUB.uid}:1000`,
    "--uidmap",
    "1000",
    "--gidmap",
    `0:${SUB.gid}:1000`,
    "--gidmap",
    "1000",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  const uid = Deno.uid(), gid = Deno.gid();
  assert.deepEqual(lines, [
    `0 ${SUB.uid} 1000`,
    `1000 ${uid} 1`,
    `0 ${SUB.gid} 1000`,
    `1000 ${gid} 1`,
    "1000",
    "1000",
  ]);
  const other = await sandboxSh("id -u; id -g", [
    ...["--uidmap", `0:${SUB.uid}:1000`, "--uidmap", "1000", "--gidmap", `0:${SUB.gid}:1000`, "--gidmap", "1000"],
    ...["-u", "5", "-g", "6"],
  ]);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.stdout, "5\n6\n");
  const unmapped = await hakoniwa(["run", "--uidmap", `0:${SUB.uid}:1000`, "--", "true"]);
  assert.equal(unmapped.code, 2);
  assert.match(unmapped.stderr, new RegExp(`the uid map must map your own uid ${Deno.uid()}`));
  const outside = await hakoniwa(["run", "--uidmap", `0:${SUB.uid}:10`, "--uidmap", "1000", "-u", "50", "--", "true"]);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /uid 50 is not in the uid map/);
  assert.equal((await hakoniwa(["run", "--uidmap", "x:1", "--", "true"])).code, 2);
  const uidOnly = await sandboxSh("id -u; id -g", ["--uidmap", `0:${SUB.uid}:1000`, "--uidmap", "1000"]);
  assert.equal(uidOnly.code, 0, uidOnly.stderr);
  assert.equal(uidOnly.stdout, `1000\n${Deno.gid()}\n`);
  if (!IS_ROOT) {
    const denied = await hakoniwa(["run", "--uidmap", "0:900000:10", "--uidmap", "1000", "--", "true"]);
    assert.equal(denied.code, 125);
    assert.match(denied.stderr, /--uidmap: \/etc\/subuid grants \S+ no range holding host uids 900000\.\.900009/);
  }
});

sandboxTest("--user USER[:GROUP] resolves through the host's passwd and group", async () => {
  const r = await sandboxSh("id -u; id -g", ["--user", "root:daemon"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "0\n1\n");
  const plain = await sandboxSh("id -u; id -g", ["--user", "daemon"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, "1\n1\n");
  const bad = await hakoniwa(["run", "--user", "no-such-user-hk", "--", "true"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^hakoniwa: --user: no user "no-such-user-hk" in \/etc\/passwd\n$/);
});

sandboxTest("-e NAME=VALUE sets, -e NAME passes the host's value, an unset NAME is set empty (as in 1.x)", async () => {
  const r = await hakoniwa([
    "run",
    "-e",
    "A=1",
    "-e",
    "HK_PASS",
    "-e",
    "HK_UNSET_X",
    "--setenv",
    "B=2",
    "--",
    "/usr/bin/env",
  ], {
    env: { HK_PASS: "passed" },
  });
  assert.equal(r.code, 0, r.stderr);
  const vars = r.stdout.trim().split("\n");
  assert.ok(vars.includes("A=1") && vars.includes("B=2") && vars.includes("HK_PASS=passed"), r.stdout);
  assert.ok(vars.includes("HK_UNSET_X="), r.stdout);
  assert.equal((await hakoniwa(["run", "-e", "=x", "--", "true"])).code, 2);
});

Deno.test("explain prints the plan as a table without running anything", async () => {
  const dir = await tempDir();
  try {
    const r = await hakoniwa([
      "explain",
      "--rw-bind",
      dir,
      "--limit-nofile",
      "10",
      "--",
      "/bin/sh",
      "-c",
      `touch ${dir}/ran`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^namespaces +user, mount, pid, ipc, uts, network, cgroup$/m);
    assert.match(r.stdout, new RegExp(`host_path: "${dir}", container_path: "${dir}"`));
    assert.match(r.stdout, /^limits +nofile = 10$/m);
    assert.match(r.stdout, /^argv +\["\/bin\/sh","-c",/m);
    assert.equal([...Deno.readDirSync(dir)].length, 0, "explain ran the command");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("explain --json round-trips to the same plan and the same spec bytes", async () => {
  const args = [
    "--ro-bind",
    "/etc",
    "--dir",
    "/d:700",
    "--uidmap",
    "0",
    "-e",
    "A=1",
    "--limit-walltime",
    "3",
    "--hostname",
    "h",
  ];
  const r = await hakoniwa(["explain", "--json", ...args, "--", "ls", "-l", "/"]);
  assert.equal(r.code, 0, r.stderr);
  const read = planFromJson(r.stdout);
  const state = newFlagState();
  // The same request built in this process.
  const { plan } = await resolve(["ls", "-l", "/"], { limitWalltime: 3, hostname: "h" }, {
    ...state,
    mounts: [{ kind: "bind", source: "/etc", target: "/etc", readonly: true }, {
      kind: "dir",
      target: "/d",
      mode: 0o700,
    }],
    env: [["A", "1"]],
    uidMaps: [{ container: 0, host: Deno.uid() ?? 0, count: 1 }],
  });
  assert.deepEqual(read, plan);
  const io = { stdio: [0, 1, 2] as [number, number, number], session: "new" as const, setgroups: false };
  assert.deepEqual(encodeSpec(read, io), encodeSpec(plan, io));
  assert.throws(
    () => planFromJson(planToJson({ ...plan, mounts: [{ kind: "nope", target: "/" }] } as unknown as Plan)),
    /kind/,
  );
  assert.throws(() => planFromJson(planToJson({ ...plan, uid: "0" } as unknown as Plan)), /plan\.uid: expected number/);
});

Deno.test("check validates policies: 0 for valid ones, 2 naming file, line and key otherwise", async () => {
  const shipped = [...Deno.readDirSync(`${ROOT}/policies`)].map((e) => `${ROOT}/policies/${e.name}`);
  const ok = await hakoniwa(["check", ...shipped]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim().split("\n").length, shipped.length);
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.toml`, 'hostname = "x"\n[limits]\nwalltime = 0\n');
    const bad = await hakoniwa(["check", `${dir}/bad.toml`]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr.trim(),
      `hakoniwa: ${dir}/bad.toml:3:1: limits.walltime: expected an integer from 1 to 31536000, got 0`,
    );
    assert.equal((await hakoniwa(["check"])).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--help of every subcommand has examples; unknown flags suggest the nearest; usage errors exit 2", async () => {
  for (const sub of [[], ["run"], ["explain"], ["check"], ["completion"]]) {
    const r = await hakoniwa([...sub, "--help"]);
    assert.equal(r.code, 0, `${sub}: ${r.stderr}`);
    assert.match(r.stdout, /\nExamples:\n {2}(source <\()?hakoniwa /, sub.join(" "));
  }
  const typo = await hakoniwa(["explain", "--jsno", "--", "true"]);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, "hakoniwa: unknown flag --jsno; did you mean --json?\n");
  const typo2 = await hakoniwa(["run", "--unshare-netwrk", "--", "true"]);
  assert.match(typo2.stderr, /did you mean --unshare-network\?/);
  for (const value of ["0", "-1", "99999999999999999999", "1.5"]) {
    const w = await hakoniwa(["run", "--limit-walltime", value, "--", "true"]);
    assert.equal(w.code, 2, value);
    assert.match(w.stderr, /--limit-walltime: expected a whole number from 1 to 31536000/);
  }
  const sub = await hakoniwa(["rn"]);
  assert.equal(sub.code, 2);
  assert.equal(sub.stderr, 'hakoniwa: unknown command "rn"; did you mean run?\n');
});

Deno.test("check reports every file, good and bad, and exits 2 when any is bad", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.toml`, 'hostname = "a"\n');
    await Deno.writeTextFile(`${dir}/bad.toml`, "share_netz = true\n");
    await Deno.writeTextFile(`${dir}/c.toml`, 'hostname = "c"\n');
    const r = await hakoniwa(["check", `${dir}/a.toml`, `${dir}/bad.toml`, `${dir}/c.toml`, `${dir}/none.toml`]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, `${dir}/a.toml: ok (1 file)\n${dir}/c.toml: ok (1 file)\n`);
    const errors = r.stderr.trim().split("\n");
    assert.equal(errors.length, 2, r.stderr);
    assert.match(errors[0], /^hakoniwa: .*bad\.toml:1:1: share_netz: unknown key; did you mean share_net\?/);
    assert.match(errors[1], /^hakoniwa: .*none\.toml/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help: help COMMAND prints that help, help bogus is an unknown command, help --help exits 0", async () => {
  const run = await hakoniwa(["help", "run"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^USAGE\n {2}hakoniwa run /);
  const bogus = await hakoniwa(["help", "bogus"]);
  assert.equal(bogus.code, 2);
  assert.equal(bogus.stderr, 'hakoniwa: help: unknown command "bogus"\n');
  assert.equal(bogus.stdout, "");
  const near = await hakoniwa(["help", "chekc"]);
  assert.equal(near.stderr, 'hakoniwa: help: unknown command "chekc"; did you mean check?\n');
  const self = await hakoniwa(["help", "--help"]);
  assert.equal(self.code, 0);
  assert.match(self.stdout, /hakoniwa help \[COMMAND\]/);
  assert.equal(self.stderr, "");
});

Deno.test("usage errors are one line 'hakoniwa: ...' with exit 2, never a usage dump", async () => {
  for (
    const args of [
      ["run", "--limit-as", "abc", "--", "true"],
      ["run", "--ro-bind"],
      ["run", "--hostname", "a", "--hostname", "b", "--", "true"],
      ["bogus"],
      ["completion"],
      ["completion", "tcsh"],
      ["check"],
      ["explain", "-x", "--", "true"],
    ]
  ) {
    const r = await hakoniwa(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^hakoniwa: [^\n]+\n$/, args.join(" "));
    assert.doesNotMatch(r.stderr, /Usage|USAGE|error: option/, args.join(" "));
  }
});

sandboxTest("--report-file - writes the report to stdout; --chdir runs in a directory without binding it", async () => {
  const r = await hakoniwa(["run", "--report-file", "-", "--chdir", "/usr", "--", "/bin/pwd"]);
  assert.equal(r.code, 0, r.stderr);
  const [pwd, report] = r.stdout.trim().split("\n");
  assert.equal(pwd, "/usr");
  assert.equal(JSON.parse(report).status, "OK");
  assert.throws(() => Deno.statSync(`${Deno.cwd()}/-`), Deno.errors.NotFound);
  const plan = await hakoniwa(["explain", "--json", "--chdir", "/srv", "--", "true"]);
  assert.equal(planFromJson(plan.stdout).cwd, "/srv");
});

/** The examples of `--help` (every subcommand and the top level) and the CLI lines of the README. */
async function examples(): Promise<string[]> {
  const lines: string[] = [];
  for (const sub of [[], ["run"], ["explain"], ["check"], ["completion"], ["help"]]) {
    const help = (await hakoniwa([...sub, "--help"])).stdout;
    const block = help.split("\nExamples:\n")[1].split("\n\n")[0];
    lines.push(...block.split("\n").map((l) => l.trim()));
  }
  // README: the `$ deno run -A cli.ts ...` lines of text blocks and the `deno run -A cli.ts ...` lines of sh blocks.
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  for (const [, body] of readme.matchAll(/```(?:sh|text)\n([\s\S]*?)```/g)) {
    for (const line of body.split("\n")) {
      const m = /^(?:\$ )?deno run -A cli\.ts (.*)$/.exec(line);
      if (m) lines.push(`hakoniwa ${m[1]}`);
    }
  }
  return [...new Set(lines)];
}

sandboxTest("every example of --help and of the README runs as written", async () => {
  const dir = await tempDir();
  try {
    // The examples' world: a checkout's policies/, your own my-policy.toml, a Makefile, a shell's home.
    await Deno.symlink(`${ROOT}/policies`, `${dir}/policies`);
    await Deno.copyFile(`${ROOT}/policies/KISS-policy.toml`, `${dir}/my-policy.toml`);
    await Deno.writeTextFile(`${dir}/Makefile`, 'all:\n\t@echo "made in $$(pwd)"\n');
    const list = await examples();
    assert.ok(list.length >= 15, `only ${list.length} examples found`);
    for (const example of list) {
      const script = `hakoniwa() { ${CLI_SH} "$@"; }\n${example}`;
      const out = await new Deno.Command("bash", {
        args: ["-c", script],
        cwd: dir,
        env: { HOME: dir, TERM: "dumb" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `${example}\n${err}`);
      assert.doesNotMatch(err, /^hakoniwa: /m, example);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest(
  "a limit, a seccomp kill or a signal that ends the command is one hakoniwa: line; -q silences it",
  async () => {
    const walltime = await hakoniwa(["run", "--limit-walltime", "1", "--", "sleep", "5"]);
    assert.equal(walltime.code, 137);
    assert.equal(walltime.stderr, "hakoniwa: walltime limit of 1s exceeded (status TLE)\n");
    const cpu = await hakoniwa(["run", "--limit-cpu", "1", "--", "sh", "-c", "while :; do :; done"]);
    assert.equal(cpu.code, 152);
    assert.equal(cpu.stderr, "hakoniwa: cpu time limit of 1s exceeded (status TLE)\n");
    const seccomp = await hakoniwa([
      "run",
      "--policy-file",
      `${ROOT}/policies/seccomp-denylist.toml`,
      "--",
      "unshare",
      "-r",
      "true",
    ]);
    assert.equal(seccomp.code, 159);
    assert.match(
      seccomp.stderr,
      /^hakoniwa: killed by (seccomp: forbidden syscall unshare |signal SIGSYS ).*\(status (RFE|SIG)\)\n$/,
    );
    const signal = await sandboxSh("kill -TERM $$");
    assert.equal(signal.code, 143);
    assert.equal(signal.stderr, "hakoniwa: killed by signal SIGTERM (status SIG)\n");
    // As a shell does, nothing for Ctrl-C's SIGINT or a reader gone (SIGPIPE).
    assert.deepEqual(
      [await sandboxSh("kill -INT $$"), await sandboxSh("kill -PIPE $$")].map((r) => [r.code, r.stderr]),
      [
        [130, ""],
        [141, ""],
      ],
    );
    for (const quiet of ["-q", "--quiet"]) {
      const r = await hakoniwa(["run", quiet, "--limit-walltime", "1", "--", "sleep", "5"]);
      assert.deepEqual([r.code, r.stderr], [137, ""]);
    }
    const both = await hakoniwa(["run", "-q", "-v", "--", "true"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^hakoniwa: --quiet and --verbose contradict each other/);
  },
);

sandboxTest(
  "file errors are one clean line naming the file; a directory, Landlock and an empty root are said",
  async () => {
    const dir = await tempDir();
    try {
      await Deno.writeTextFile(`${dir}/bad.json`, "{bad");
      const cases: [string[], number, string][] = [
        [
          ["run", "--policy-file", `${dir}/nope.toml`, "--", "true"],
          2,
          `--policy-file: cannot read ${dir}/nope.toml: no such file or directory`,
        ],
        [["run", "--policy-file", dir, "--", "true"], 2, `--policy-file: cannot read ${dir}: is a directory`],
        [["check", `${dir}/nope.toml`], 2, `check: cannot read ${dir}/nope.toml: no such file or directory`],
        [
          ["run", "--seccomp", `${dir}/nope.json`, "--", "true"],
          2,
          `--seccomp: cannot read ${dir}/nope.json: no such file or directory`,
        ],
        [["run", "--report-file", dir, "--", "true"], 2, `--report-file: cannot open ${dir}: is a directory`],
        [["run", "--", "/tmp"], 125, "execve: cannot execute the command: /tmp: is a directory"],
        [["run", "--ro-bind", `${dir}:/d`, "--", "/d"], 125, "execve: cannot execute the command: /d: is a directory"],
        [
          ["run", "--landlock-restrict", "fs", "--", "/bin/true"],
          125,
          "execve: refused by Landlock (no rule allows executing beneath /bin/true): /bin/true: Permission denied",
        ],
      ];
      for (const [args, code, line] of cases) {
        const r = await hakoniwa(args);
        assert.deepEqual([r.code, r.stderr], [code, `hakoniwa: ${line}\n`], args.join(" "));
      }
      const json = await hakoniwa(["run", "--seccomp", `${dir}/bad.json`, "--", "true"]);
      assert.equal(json.code, 2);
      assert.match(json.stderr, new RegExp(`^hakoniwa: seccomp profile ${dir}/bad.json: not valid JSON: [^\\n]+\\n$`));
      const empty = await hakoniwa(["run", "--rootfs", "none", "--", "sh"]);
      assert.equal(empty.code, 125);
      assert.match(
        empty.stderr,
        /^hakoniwa: execve: command not found: sh: .*; nothing is bound at any directory of the PATH searched .*: bind them with --ro-bind .*\n$/,
      );
      for (const r of [json, empty]) assert.doesNotMatch(r.stderr, /os error|\(file\)|readfile|open '/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
