// Integration tests of Landlock: real sandboxes, rootless and as root.
import assert from "node:assert/strict";
import { hakoniwa, sandboxSh, sandboxTest, tempDir } from "./helpers.ts";

/** Rules that let a shell and python3 start: the system's programs and libraries, /dev. */
function systemRules(): string[] {
  const dirs = ["/usr", "/bin", "/lib", "/lib64"].filter((d) => {
    try {
      return Deno.statSync(d).isDirectory;
    } catch {
      return false;
    }
  });
  return ["--landlock-fs-rx", dirs.join(":"), "--landlock-fs-rw", "/dev"];
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A python3 script printing, per TCP port, what bind() and connect() on 127.0.0.1 give. */
const PORT_PROBE = `
import socket, sys
for op, port in [a.split(":") for a in sys.argv[1:]]:
    s = socket.socket()
    try:
        (s.bind if op == "bind" else s.connect)(("127.0.0.1", int(port)))
        print(op, port, "ok")
    except OSError as e:
        print(op, port, e.strerror)
    s.close()
`;

sandboxTest("landlock fs: allowed inside the rules, denied outside, with r, w, x as given", async () => {
  const dir = await tempDir();
  try {
    for (const d of ["in", "ro", "out"]) await Deno.mkdir(`${dir}/${d}`);
    await Deno.writeTextFile(`${dir}/ro/file`, "readable\n");
    await Deno.writeTextFile(`${dir}/out/secret`, "secret\n");
    await Deno.writeTextFile(`${dir}/out/writable`, "");
    const script = [
      "echo new > /data/in/new && echo in-write=ok || echo in-write=denied",
      "cat /data/ro/file",
      "echo x > /data/ro/x 2>/dev/null && echo ro-write=ok || echo ro-write=denied",
      "cat /data/out/secret 2>/dev/null || echo out-read=denied",
      "echo x > /data/out/new 2>/dev/null && echo out-write=ok || echo out-write=denied",
      "ls /tmp >/dev/null 2>&1 && echo tmp=ok || echo tmp=denied",
      "cp /usr/bin/true /data/in/mytrue && { /data/in/mytrue && echo exec-in=ok || echo exec-in=denied; }",
      "echo w > /data/out/writable && echo file-rule=ok", // a rule on a single file
    ].join("; ");
    const r = await hakoniwa([
      "run",
      "--rw-bind",
      `${dir}:/data`,
      ...systemRules(),
      "--landlock-fs-rw",
      "/data/in",
      "--landlock-fs-ro",
      "/data/ro",
      "--landlock-fs-rw",
      "/data/out/writable",
      "--",
      "/bin/sh",
      "-c",
      script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.deepEqual(lines, [
      "in-write=ok",
      "readable",
      "ro-write=denied",
      "out-read=denied",
      "out-write=denied",
      "tmp=denied",
      "exec-in=denied", // /data/in has rw, not x
      "file-rule=ok",
    ]);
    assert.ok(exists(`${dir}/in/new`));
    assert.ok(!exists(`${dir}/ro/x`) && !exists(`${dir}/out/new`));

    // The control: without Landlock the same writes go through.
    const free = await sandboxSh("echo x > /data/out/new && cat /data/out/secret", ["--rw-bind", `${dir}:/data`]);
    assert.equal(free.code, 0, free.stderr);
    assert.equal(free.stdout, "secret\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("landlock fs: --landlock-restrict fs alone leaves nothing, not even the command", async () => {
  const r = await hakoniwa(["run", "--landlock-restrict", "fs", "--", "/bin/true"]);
  assert.equal(r.code, 125);
  assert.match(
    r.stderr,
    /^hakoniwa: execve: refused by Landlock \(no rule allows executing beneath \/bin\/true\): \/bin\/true: Permission denied$/m,
  );
});

sandboxTest("landlock tcp: bind and connect only to the allowed ports", async () => {
  const r = await hakoniwa([
    "run",
    "--landlock-tcp-bind",
    "8000",
    "--landlock-tcp-connect",
    "8000,8002",
    "--",
    "python3",
    "-c",
    PORT_PROBE,
    "bind:8000",
    "bind:8001",
    "connect:8002",
    "connect:8003",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), [
    "bind 8000 ok",
    "bind 8001 Permission denied",
    "connect 8002 Connection refused", // allowed: nothing listens
    "connect 8003 Permission denied",
  ]);
  // tcp.bind restricted alone leaves connect free, and the other way round.
  const bindOnly = await hakoniwa([
    "run",
    "--landlock-restrict",
    "tcp.bind",
    "--",
    "python3",
    "-c",
    PORT_PROBE,
    "bind:8001",
    "connect:8003",
  ]);
  assert.deepEqual(bindOnly.stdout.trim().split("\n"), [
    "bind 8001 Permission denied",
    "connect 8003 Connection refused",
  ]);
});

sandboxTest(
  "landlock fails closed on an older ABI (simulated with --landlock-abi); best effort runs and logs",
  async () => {
    const dir = await tempDir();
    try {
      const ran = `${dir}/ran`;
      for (
        const [flags, feature, abi] of [
          [["--landlock-abi", "3", "--landlock-tcp-connect", "80"], "tcp.connect", 4],
          [["--landlock-abi", "2", "--landlock-fs-rx", "/usr"], "fs", 3],
          [["--landlock-abi", "5", "--landlock-restrict", "scope.signal"], "scope.signal", 6],
          [["--landlock-abi", "0", "--landlock-restrict", "tcp.bind"], "tcp.bind", 4],
        ] as const
      ) {
        const r = await hakoniwa(["run", "--rw-bind", dir, ...flags, "--", "/bin/sh", "-c", `touch ${ran}`]);
        assert.equal(r.code, 125, `${flags.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`landlock: restricting ${feature} needs Landlock ABI ${abi}`));
        assert.match(r.stderr, /--landlock-best-effort/);
        assert.ok(!exists(ran), "the command ran although Landlock could not be enforced");
      }
      // Best effort: the command runs, without the restriction the ABI lacks, and the log says so.
      const r = await hakoniwa([
        "run",
        "--landlock-abi",
        "3",
        "--landlock-best-effort",
        "--landlock-tcp-bind",
        "8000",
        "--",
        "python3",
        "-c",
        PORT_PROBE,
        "bind:8001",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "bind 8001 ok\n");
      assert.match(r.stderr, /Landlock best effort: tcp\.bind: not restricted \(needs Landlock ABI 4, using ABI 3\)/);
      // Best effort keeps what the ABI can do: fs at ABI 2 still denies reads outside the rules.
      const fs = await hakoniwa([
        "run",
        "--landlock-abi",
        "2",
        "--landlock-best-effort",
        ...systemRules(),
        "--",
        "/bin/sh",
        "-c",
        "ls /tmp || echo tmp=denied",
      ]);
      assert.equal(fs.code, 0, fs.stderr);
      assert.match(fs.stdout, /tmp=denied/);
      assert.match(fs.stderr, /fs: truncation stays unrestricted/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("landlock scopes: signals and abstract unix sockets outside the domain are refused", async () => {
  // Init (PID 1) is outside the command's Landlock domain.
  const free = await sandboxSh("kill -0 1 && echo signal=ok");
  assert.equal(free.stdout, "signal=ok\n", free.stderr);
  const scoped = await sandboxSh("kill -0 1 2>/dev/null && echo signal=ok || echo signal=denied", [
    "--landlock-restrict",
    "scope.signal",
  ]);
  assert.equal(scoped.stdout, "signal=denied\n", scoped.stderr);

  // An abstract socket on the host, reachable only through a shared network namespace.
  const name = `hakoniwa-test-${crypto.randomUUID()}`;
  const server = new Deno.Command("python3", {
    args: [
      "-c",
      `import socket,sys
s=socket.socket(socket.AF_UNIX); s.bind("\\0${name}"); s.listen(8); print("ready", flush=True)
while True: s.accept()[0].close()`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = server.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
    reader.releaseLock();
    const probe = `import socket
s=socket.socket(socket.AF_UNIX)
try:
    s.connect("\\0${name}"); print("connect ok")
except OSError as e:
    print("connect", e.strerror)`;
    const open = await hakoniwa(["run", "--network", "host", "--", "python3", "-c", probe]);
    assert.equal(open.stdout, "connect ok\n", open.stderr);
    const closed = await hakoniwa([
      "run",
      "--network",
      "host",
      "--landlock-restrict",
      "scope.abstract-unix-socket",
      "--",
      "python3",
      "-c",
      probe,
    ]);
    assert.equal(closed.stdout, "connect Operation not permitted\n", closed.stderr);
  } finally {
    server.kill("SIGKILL");
    await server.status;
    await server.stdout.cancel().catch(() => {});
  }
});

sandboxTest("landlock from a policy file; errors name file:line and key", async () => {
  const dir = await tempDir();
  try {
    const base = await Deno.readTextFile(new URL("../policies/KISS-policy.toml", import.meta.url));
    const rules = systemRules();
    const fsLines = rules[1].split(":").map((p) => `  { path = "${p}", access = "r-x" },`);
    const policy = `${base}
[landlock]
resources = [{ type = "tcp.connect" }]
fs = [
${fsLines.join("\n")}
  { path = "/tmp", access = "rw-" },
]
net = [{ port = 8002, access = "tcp.connect" }]
`;
    await Deno.writeTextFile(`${dir}/p.toml`, policy);
    const r = await hakoniwa([
      "run",
      "--policy-file",
      `${dir}/p.toml`,
      "--",
      "/bin/sh",
      "-c",
      `echo hi > /tmp/a && cat /tmp/a; ls /proc >/dev/null 2>&1 || echo proc=denied; python3 -c '${PORT_PROBE}' connect:8002 connect:8003`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      "hi",
      "proc=denied",
      "connect 8002 Connection refused",
      "connect 8003 Permission denied",
    ]);

    await Deno.writeTextFile(`${dir}/bad.toml`, policy.replace('access = "rw-"', 'access = "rwz"'));
    const bad = await hakoniwa(["run", "--policy-file", `${dir}/bad.toml`, "--", "/bin/true"]);
    assert.equal(bad.code, 2);
    const line = policy.split("\n").findIndex((l) => l.includes('"rw-"')) + 1;
    assert.match(
      bad.stderr,
      new RegExp(`bad\\.toml:${line}:\\d+: landlock\\.fs\\[\\d+\\]\\.access: expected an access`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("landlock flags: bad values are usage errors naming the flag", async () => {
  for (
    const [args, re] of [
      [["--landlock-restrict", "fs,udp"], /--landlock-restrict: unknown resource "udp"/],
      [["--landlock-tcp-bind", "70000"], /--landlock-tcp-bind: expected a port/],
      [["--landlock-fs-ro", "relative"], /--landlock-fs-ro: expected absolute paths/],
      [["--landlock-abi", "x"], /--landlock-abi: expected a whole number/],
    ] as const
  ) {
    const r = await hakoniwa(["run", ...args, "--", "/bin/true"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
});
