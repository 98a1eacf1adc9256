// Integration tests of policy files: the seed's KISS policy, every example policy, validation before anything runs.
import assert from "node:assert/strict";
import { CLI_SH, hakoniwa, ROOT, sandboxTest, tempDir } from "./helpers.ts";

// The seed's KISS policy, as the seed wrote it.
const SEED_KISS = `# The default policy: a minimal root with the system's programs and
# libraries read-only, a new /tmp, a minimal /dev and /proc.
mount_new_tmpfs = true
mount_new_devfs = true

mounts = [
  { source = "/bin",   target = "/bin"   },
  { source = "/lib",   target = "/lib"   },
  { source = "/lib64", target = "/lib64" },
  { source = "/usr",   target = "/usr"   },
]

[env]
LANG     = {{ os_env "LANG"     }}
LANGUAGE = {{ os_env "LANGUAGE" }}
LC_ALL   = {{ os_env "LC_ALL"   }}
TERM     = {{ os_env "TERM"     }}
`;

const policy = (name: string) => `${ROOT}/policies/${name}.toml`;

sandboxTest(
  "the seed's KISS policy runs with --policy-file; a missing bind source is skipped with one warning, also in check",
  async () => {
    const dir = await tempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/KISS-policy.toml`,
        SEED_KISS.replace(
          '  { source = "/usr",',
          '  { source = "/no/such/dir", target = "/opt/x" },\n  { source = "/usr",',
        ),
      );
      const r = await hakoniwa([
        "run",
        "--policy-file",
        `${dir}/KISS-policy.toml`,
        "--",
        "/bin/sh",
        "-c",
        "echo $TERM; ls /",
      ], {
        env: { TERM: "seed-term" },
      });
      assert.equal(r.code, 0, r.stderr);
      const lib64 = (() => {
        try {
          return Deno.statSync("/lib64").isDirectory;
        } catch {
          return false;
        }
      })();
      assert.equal(r.stdout, `seed-term\nbin\ndev\nlib\n${lib64 ? "lib64\n" : ""}proc\ntmp\nusr\n`);
      // At the default level, one line: a typo in a policy shows.
      assert.match(
        r.stderr,
        /^\[\S+ WARNING hakoniwa::executor\] bind source "\/no\/such\/dir" \(target "\/opt\/x"\) does not exist: skipped /,
      );
      assert.equal(r.stderr.split("\n").filter((l) => /no\/such\/dir/.test(l)).length, 1, r.stderr);
      assert.equal(
        (await hakoniwa(["run", "-q", "--policy-file", `${dir}/KISS-policy.toml`, "--", "true"])).stderr,
        "",
      );
      const check = await hakoniwa(["check", `${dir}/KISS-policy.toml`]);
      assert.equal(check.code, 0, check.stderr);
      assert.equal(check.stdout, `${dir}/KISS-policy.toml: ok (1 file, 1 warning)\n`);
      assert.match(
        check.stderr,
        /^hakoniwa: \S+: warning: bind source "\/no\/such\/dir" \(target "\/opt\/x"\) does not exist/,
      );
      // optional = true says the missing source is meant: no warning, neither in a run nor in check.
      await Deno.writeTextFile(
        `${dir}/optional.toml`,
        'mounts = [{ source = "/no/such/dir", target = "/opt/x", optional = true }, { source = "/usr" }, { source = "/lib" }, ' +
          '{ source = "/lib64", optional = true }]\n',
      );
      const quiet = await hakoniwa(["check", `${dir}/optional.toml`]);
      assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, `${dir}/optional.toml: ok (1 file)\n`, ""]);
      const run = await hakoniwa(["run", "--policy-file", `${dir}/optional.toml`, "--", "/usr/bin/true"]);
      assert.deepEqual([run.code, run.stderr], [0, ""]);
      await Deno.writeTextFile(`${dir}/seed.toml`, SEED_KISS);
      const exact = await hakoniwa([
        "run",
        "--policy-file",
        `${dir}/seed.toml`,
        "--",
        "/bin/sh",
        "-c",
        "echo $TERM; ls /",
      ], {
        env: { TERM: "seed-term" },
      });
      assert.equal(exact.code, 0, exact.stderr);
      assert.equal(exact.stdout, r.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("posix-shell.toml: its default command, home directory, hostname and limits", async () => {
  const r = await hakoniwa(["run", "--policy-file", policy("posix-shell")], {
    stdin: 'echo "$HOME $(pwd) $(hostname) $(ulimit -n)"; stat -c %a /tmp/home; readlink /etc/mtab\n',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "/tmp/home /tmp/home shell 256\n700\n/proc/self/mounts\n");
});

sandboxTest("lang-python.toml runs Python 3 with its standard library and no network", async () => {
  const r = await hakoniwa([
    "run",
    "--policy-file",
    policy("lang-python"),
    "--",
    "python3",
    "-c",
    "import json, os, socket, sys\nprint(sys.version_info[0], json.dumps({'cwd': os.getcwd()}))\n" +
    "try:\n  socket.create_connection(('1.1.1.1', 53), timeout=2)\nexcept OSError:\n  print('no network')",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '3 {"cwd": "/tmp"}\nno network\n');
});

sandboxTest("lang-c.toml compiles a C program with gcc and runs it", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/hello.c`,
      '#include <stdio.h>\nint main(void) { printf("hello from C\\n"); return 3; }\n',
    );
    const r = await hakoniwa([
      "run",
      "--policy-file",
      policy("lang-c"),
      "-w",
      dir,
      "--",
      "/bin/sh",
      "-c",
      "gcc -O1 -o hello hello.c && ./hello",
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "hello from C\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("lang-node.toml runs Node.js", async () => {
  const r = await hakoniwa([
    "run",
    "--policy-file",
    policy("lang-node"),
    "--",
    "node",
    "-e",
    "console.log(process.version.startsWith('v'), process.cwd(), require('os').hostname())",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "true /tmp hakoniwa\n");
});

sandboxTest("lang-deno.toml runs Deno itself", async () => {
  const r = await hakoniwa([
    "run",
    "--policy-file",
    policy("lang-deno"),
    "--ro-bind",
    `${Deno.execPath()}:/opt/deno/bin/deno`,
    "--",
    "deno",
    "eval",
    "console.log(Deno.version.deno.length > 0, Deno.cwd(), Deno.env.get('DENO_DIR'))",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "true /tmp /tmp/deno\n");
});

sandboxTest("lang-deno.toml's usage runs as written from a checkout, without deno on PATH", async () => {
  const text = await Deno.readTextFile(policy("lang-deno"));
  const usage = text.split("\n").filter((l) => /^#\s{3,}/.test(l)).map((l) => l.slice(1).trim()).join(" ")
    .replaceAll("\\ ", "");
  assert.match(usage, /^hakoniwa run --policy-file policies\/lang-deno\.toml /);
  const out = await new Deno.Command("sh", {
    args: ["-c", `hakoniwa() { ${CLI_SH} "$@"; }; ${usage}`],
    cwd: ROOT,
    env: { PATH: "/usr/bin:/bin" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  assert.equal(dec.decode(out.stdout), "2\n");
});

sandboxTest("an invalid policy is rejected before anything runs: exit 2 naming file, line and key", async () => {
  const dir = await tempDir();
  try {
    const cases: [string, string][] = [
      ['include = ["' + policy("KISS-policy") + '"]\n\nshare_netz = true\n', ":3:1: share_netz: unknown key"],
      ['mounts = [\n  { source = "usr" },\n]\n', ":2:5: mounts[0].source: expected an absolute path"],
      ["[limits]\nwalltime = -1\n", ":2:1: limits.walltime: expected an integer from 1 to 31536000, got -1"],
      [
        'mounts = [{ source = "/usr" }, { source = "/bin", target = "/usr" }]\n',
        ':1:51: mounts[1].target: "/usr" is already the target of mounts[0].target',
      ],
      ["[env]\nA = true\n", ":2:1: env.A: expected a string, got a boolean"],
    ];
    for (const [i, [text, expected]] of cases.entries()) {
      const file = `${dir}/bad${i}.toml`;
      await Deno.writeTextFile(file, text);
      const r = await hakoniwa(["run", "--policy-file", file, "--", "/bin/sh", "-c", `touch ${dir}/ran`]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.startsWith(`hakoniwa: ${file}${expected}`), r.stderr);
    }
    assert.ok(![...Deno.readDirSync(dir)].some((e) => e.name === "ran"), "a command ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("a policy's extended keys act in the sandbox; flags add to and override the policy", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/data`, "data\n");
    // As root, user daemon inside is daemon on the host: it reads the bind as any other user would.
    await Deno.chmod(dir, 0o755);
    await Deno.writeTextFile(
      `${dir}/base.toml`,
      `include = ["${policy("KISS-policy")}"]\nhostname = "base"\n[env]\nFROM = "base"\nKEEP = "kept"\n`,
    );
    await Deno.writeTextFile(
      `${dir}/p.toml`,
      `include = ["base.toml"]
hostname = "policy"
mounts = [{ source = "${dir}", target = "/data" }]
dirs = [{ target = "/work", mode = 0o711 }]
symlinks = [{ original = "/data/data", link = "/work/link" }]
user = "daemon"
share_ipc = true
command = { argv = ["/bin/sh", "-c", "pwd; hostname; id -u; stat -c %a /work; cat /work/link; echo $FROM $KEEP $FLAG; readlink /proc/self/ns/ipc"], cwd = "/work" }
[limits]
walltime = 30
`,
    );
    const r = await hakoniwa(["run", "--policy-file", `${dir}/p.toml`]);
    assert.equal(r.code, 0, r.stderr);
    const ipc = Deno.readLinkSync("/proc/self/ns/ipc");
    assert.equal(r.stdout, `/work\npolicy\n1\n711\ndata\nbase kept\n${ipc}\n`);
    const f = await hakoniwa([
      "run",
      "--policy-file",
      `${dir}/p.toml`,
      "-v",
      "--hostname",
      "flag",
      "-e",
      "FROM=flag",
      "-e",
      "FLAG=1",
      "-u",
      "0",
      "--unshare-ipc",
      "--limit-walltime",
      "20",
    ]);
    assert.equal(f.code, 0, f.stderr);
    const lines = f.stdout.trim().split("\n");
    assert.deepEqual(lines.slice(0, 6), ["/work", "flag", "0", "711", "data", "flag kept 1"]);
    assert.notEqual(lines[6], ipc);
    assert.match(f.stderr, /Hostname: flag/);
    assert.match(f.stderr, /Limit: walltime: 20s/);
    assert.match(f.stderr, /Env: FROM="flag"/);
    assert.match(f.stderr, /Mount point: host_path: ".*", container_path: "\/data", readonly: true/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
