// Class: set-id files planted on the host through a read-write bind. No profile, `unconfined` included, lets a
// payload give a file a set-uid or set-gid mode; as root, --user other than 0 does not run as host root.
import assert from "node:assert/strict";
import { IS_ROOT, sandboxTest, tempDir } from "../helpers.ts";
import { NO_I386 } from "../host_abi.ts";
import { inSandbox, probe, STRONG_POLICY } from "./probe.ts";

const PROFILES: [string, string[]][] = [
  ["default", []],
  ["strict", ["--seccomp", "strict"]],
  ["audit", ["--seccomp", "audit"]],
  ["unconfined", ["--seccomp", "unconfined"]],
  ["strong policy", ["--policy-file", STRONG_POLICY]],
];

/** Files under `dir` whose mode has S_ISUID or S_ISGID. */
async function setIdFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const st = await Deno.lstat(`${dir}/${e.name}`);
    if ((st.mode ?? 0) & 0o6000) found.push(`${e.name} ${(st.mode! & 0o7777).toString(8)}`);
  }
  return found;
}

sandboxTest("set-id: no profile lets the payload give a file on the host a set-uid or set-gid mode", async () => {
  const bin = await probe("setid", ["-no-pie"]);
  for (const [name, flags] of PROFILES) {
    const dir = await tempDir();
    try {
      await Deno.chmod(dir, 0o777);
      const r = await inSandbox(["--rw-bind", `${dir}:/out`, ...flags], [bin, "/out"]);
      assert.equal(r.code, 0, `${name}: ${r.stdout}${r.stderr}`);
      const lines = Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split(" ", 2)));
      for (const call of ["chmod", "chmod-sgid", "fchmod", "fchmodat", "fchmodat2", "mknod", "mknodat", "open"]) {
        assert.equal(lines[call], "ret=-1", `${name}: ${call} was not refused:\n${r.stdout}`);
      }
      for (const call of ["openat", "creat", "tmpfile", "openat2", "io_uring_setup"]) {
        assert.equal(lines[call], "ret=-1", `${name}: ${call} was not refused:\n${r.stdout}`);
      }
      assert.match(r.stdout, /^chmod ret=-1 errno=1$/m, name);
      assert.match(r.stdout, /^openat2 ret=-1 errno=38$/m, name);
      assert.equal(lines["plain-chmod"], "ret=0", `${name}: a plain chmod must work:\n${r.stdout}`);
      assert.deepEqual(await setIdFiles(dir), [], `${name}: set-id files on the host`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

sandboxTest("set-id: nor through the i386 ABI (killed, or refused by the guard under unconfined)", async () => {
  const bin = await probe("setid", ["-no-pie"]);
  for (const [name, flags] of PROFILES) {
    const dir = await tempDir();
    try {
      await Deno.chmod(dir, 0o777);
      const i386 = await inSandbox(["--rw-bind", `${dir}:/out`, ...flags], [bin, "/out", "i386"]);
      // Killed (SIGSYS) by the profiles that refuse foreign ABIs, else refused by the guard.
      if (name === "unconfined" || i386.code !== 128 + 31) {
        assert.match(i386.stdout, /^i386-chmod ret=-1 errno=1$/m, `${name}: ${i386.stdout}${i386.stderr}`);
        assert.match(i386.stdout, /^i386-open ret=-1 errno=1$/m, `${name}: ${i386.stdout}${i386.stderr}`);
      }
      assert.deepEqual(await setIdFiles(dir), [], `${name}: set-id files on the host`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
}, NO_I386);

sandboxTest(
  "set-id: cp + chmod 6755 as --user nobody leaves no set-id file, and as root not a root-owned one",
  async () => {
    const dir = await tempDir();
    try {
      await Deno.chmod(dir, 0o777);
      const r = await inSandbox(
        ["--user", "nobody", "--rw-bind", `${dir}:/out`, "--seccomp", "unconfined"],
        ["/bin/sh", "-c", "cp /usr/bin/id /out/x; chmod 6755 /out/x; echo chmod=$?; /out/x -u"],
      );
      assert.match(r.stdout, /chmod=1/, r.stdout + r.stderr);
      const st = await Deno.stat(`${dir}/x`);
      assert.equal(st.mode! & 0o6000, 0, `mode ${st.mode!.toString(8)}`);
      if (IS_ROOT) {
        // nobody inside is nobody outside: files it writes through a bind are not root's.
        const nobody = Number(/^nobody:[^:]*:(\d+):/m.exec(await Deno.readTextFile("/etc/passwd"))![1]);
        assert.equal(st.uid, nobody, "the payload's file belongs to host root");
        assert.match(r.stdout, new RegExp(`^${nobody}$`, "m"), r.stdout);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
