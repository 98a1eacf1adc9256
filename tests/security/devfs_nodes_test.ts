// Class: host devices changed from inside. devfs's nodes, a device on the command's stdio and the sandbox's own pty
// are host inodes: uid 0 inside (root's default) could chmod, chown or touch the host's /dev/null through them. Each is
// on a read-only mount: such a change fails with EROFS, for root and rootless alike, while reads, writes and ioctls
// work as before.
import assert from "node:assert/strict";
import { cliArgv, hakoniwa, IS_ROOT, sandboxTest } from "../helpers.ts";
import { policies } from "./probe.ts";

const NODES = ["null", "zero", "full", "random", "urandom", "tty"];

/** Mode, owner and times of host nodes, to compare after a run and to put back when a change got through. */
function snapshot(paths: string[]): Map<string, Deno.FileInfo> {
  return new Map(paths.map((p) => [p, Deno.statSync(p)]));
}

/** The time the payload's `touch -d 2001-01-01` gives a node, in ms (the sandbox has no time zone: UTC). */
const TOUCHED = Date.UTC(2001, 0, 1);

/** What the payload could have changed: mode, owner, times set to TOUCHED (other times move with host activity). */
function describe(st: Deno.FileInfo): string {
  const touched = st.mtime?.getTime() === TOUCHED || st.atime?.getTime() === TOUCHED;
  return `mode ${st.mode?.toString(8)} uid ${st.uid} gid ${st.gid}${touched ? " touched (2001-01-01)" : ""}`;
}

/** Asserts nothing changed, after putting back what did (as root: a failing run must not leave the host changed). */
function assertUnchanged(before: Map<string, Deno.FileInfo>, what: string) {
  const changed: string[] = [];
  for (const [path, st] of before) {
    const now = Deno.statSync(path);
    if (describe(now) === describe(st)) continue;
    changed.push(`${path}: ${describe(st)} -> ${describe(now)}`);
    if (IS_ROOT) {
      Deno.chmodSync(path, st.mode! & 0o7777);
      Deno.chownSync(path, st.uid, st.gid);
      Deno.utimeSync(path, st.atime!, st.mtime!);
    }
  }
  assert.deepEqual(changed, [], `${what}: the payload changed host nodes`);
}

sandboxTest("devfs: its nodes cannot be chmod'ed, chown'ed or touched, and still read, write and ioctl", async () => {
  const host = NODES.map((n) => `/dev/${n}`);
  // chmod to the node's own mode and chown to its own owner: a change that got through is visible only by its exit
  // status (and by the 2001 times touch sets, which are put back).
  const attempts = NODES.map((n) =>
    `chmod 666 /dev/${n}; chown 0:0 /dev/${n}; touch -h -d 2001-01-01 /dev/${n}; touch -h -m /dev/${n}; ` +
    `setfattr -n user.x -v 1 /dev/${n} 2>/dev/null || python3 -c "import os; os.setxattr('/dev/${n}', 'user.x', b'1')"`
  ).join("; ");
  const uses = [
    "echo x > /dev/null && echo write-null-ok",
    "test $(head -c 16 /dev/zero | wc -c) = 16 && echo read-zero-ok",
    "test $(head -c 16 /dev/urandom | wc -c) = 16 && echo read-urandom-ok",
    "dd if=/dev/zero of=/dev/full bs=1 count=1 2>&1 | grep -q 'No space left' && echo write-full-enospc",
    // RNDGETENTCNT: an ioctl of the random driver, answered through the read-only mount.
    `python3 -c "import fcntl; fcntl.ioctl(open('/dev/urandom', 'rb'), 0x80045200, bytes(4)); print('ioctl-ok')"`,
  ].join("; ");
  for (const p of await policies()) {
    const before = snapshot(host);
    try {
      const r = await hakoniwa(["run", ...p.flags, "--", "/bin/sh", "-c", `{ ${attempts}; } 2>&1; ${uses}`]);
      assert.equal(r.code, 0, `${p.name}: ${r.stdout}${r.stderr}`);
      // Every attempt fails, and for the mount's reason: EROFS, whoever the caller is (rootless got EPERM before).
      const lines = r.stdout.split("\n").filter((l) => l.includes("/dev/"));
      assert.ok(lines.length >= NODES.length * 4, `${p.name}: ${r.stdout}`);
      for (const line of lines) assert.match(line, /Read-only file system/, `${p.name}: ${line}\n${r.stdout}`);
      for (const ok of ["write-null-ok", "read-zero-ok", "read-urandom-ok", "write-full-enospc", "ioctl-ok"]) {
        assert.match(r.stdout, new RegExp(ok), `${p.name}: ${ok} missing:\n${r.stdout}${r.stderr}`);
      }
    } finally {
      assertUnchanged(before, p.name);
    }
  }
});

sandboxTest("devfs: a device on stdout (/dev/null) cannot be chmod'ed or touched through /proc/self/fd/1", async () => {
  const before = snapshot(["/dev/null"]);
  try {
    const [deno, ...args] = cliArgv(
      "run",
      "--",
      "/bin/sh",
      "-c",
      "chmod 666 /proc/self/fd/1; touch -d 2001-01-01 /proc/self/fd/1; chown 0:0 /proc/self/fd/1; echo to-null",
    );
    const out = await new Deno.Command(deno, { args, stdin: "null", stdout: "null", stderr: "piped" }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const lines = stderr.trim().split("\n");
    assert.equal(lines.length, 3, stderr);
    for (const line of lines) assert.match(line, /\/proc\/self\/fd\/1': Read-only file system$/, stderr);
  } finally {
    assertUnchanged(before, "stdout /dev/null");
  }
});

sandboxTest("devfs: the sandbox's pty cannot be chmod'ed or touched, by its name or its fds, and works", async () => {
  // script(1) gives the launcher a terminal, so the command gets its own pty (bound at /dev/pts/N inside).
  const inside = "t=$(tty); echo name=$t; chmod 620 $t; touch $t; chmod 620 /proc/self/fd/0; touch /proc/self/fd/2; " +
    "stty size >/dev/null && echo ioctl-ok; echo done";
  const line = cliArgv("run", "--", "/bin/sh", "-c", inside).map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("script", { args: ["-qec", line, "/dev/null"], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).replaceAll("\r", "");
  // The command's own pty is /dev/console inside (devfs's /dev/pts is a devpts instance of the sandbox's own).
  assert.match(text, /name=\/dev\/console\n/, text);
  const refused = text.split("\n").filter((l) => /^(chmod|touch): /.test(l));
  assert.equal(refused.length, 4, text);
  for (const l of refused) assert.match(l, /Read-only file system$/, text);
  assert.match(text, /ioctl-ok\ndone/, text);
});
