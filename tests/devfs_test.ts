// Integration tests of the sandbox's /dev: a devfs (the KISS policy's, --devfs, Container.devfs(), a policy's
// mount_new_devfs) has a devpts instance of its own at pts and ptmx linked to pts/ptmx, as hakoniwa 1.x's, so a
// program can open a pseudo-terminal inside.
import assert from "node:assert/strict";
import { Container } from "../mod.ts";
import { loadNativeSync } from "../src/native/ffi.ts";
import { compileProfile, defaultProfile } from "../src/seccomp/profile.ts";
import { hakoniwa, pathExists, ROOT, sandboxSh, sandboxTest, SKIP_REASON, tempDir } from "./helpers.ts";

if (!SKIP_REASON) {
  loadNativeSync();
  compileProfile(defaultProfile());
}

/** Opens a pty pair with python's pty module and prints the slave's name. */
const PY_PTY = "import os, pty; m, s = pty.openpty(); os.write(m, b'hi\\n'); print(os.ttyname(s), os.read(s, 3))";

sandboxTest("a program opens a pty inside: python's pty module and script(1), under the default /dev", async () => {
  const r = await sandboxSh(`python3 -c "${PY_PTY}" && script -qc 'tty' /dev/null`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.replaceAll("\r", ""), "/dev/pts/0 b'hi\\n'\n/dev/pts/0\n");
});

sandboxTest("--devfs DIR has pts (a devpts of its own, nosuid, noexec) and ptmx -> pts/ptmx, as 1.x", async () => {
  const r = await sandboxSh(
    "ls /mydev; readlink /mydev/ptmx; ls /mydev/pts; " +
      String.raw`sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* /mydev/pts \([^ ]*\) .*- \([^ ]*\) [^ ]* \(.*\)|\1 \2 \3|p' ` +
      "/proc/self/mountinfo",
    ["--devfs", "/mydev"],
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  // 1.x's test_devfsmount_default_devices, and what is in its devfs besides.
  for (const name of ["null", "zero", "full", "random", "urandom", "tty", "stdin", "stdout", "stderr", "shm"]) {
    assert.ok(lines.includes(name), `${name} in ${r.stdout}`);
  }
  assert.ok(lines.includes("pts") && lines.includes("ptmx"), r.stdout);
  const at = lines.indexOf("pts/ptmx");
  assert.ok(at > 0, "ptmx links to pts/ptmx");
  assert.equal(lines[at + 1], "ptmx", "a new instance: none of the host's ptys, only its ptmx");
  const [options, fstype, superOptions] = lines[at + 2].split(" ");
  assert.equal(fstype, "devpts");
  for (const o of ["rw", "nosuid", "noexec"]) assert.ok(options.split(",").includes(o), `${o} in ${options}`);
  assert.ok(!options.split(",").includes("nodev"), "its ptys are devices");
  for (const o of ["mode=620", "ptmxmode=666"]) {
    assert.ok(superOptions.split(",").includes(o), `${o} in ${superOptions}`);
  }
});

sandboxTest("a policy's mount_new_devfs and a 1.x config's devfs mount have a pty too", async () => {
  const policy = await hakoniwa([
    "run",
    "--policy-file",
    `${ROOT}/policies/posix-shell.toml`,
    "--",
    "/bin/sh",
    "-c",
    "script -qc tty /dev/null",
  ]);
  assert.equal(policy.code, 0, policy.stderr);
  assert.equal(policy.stdout.replaceAll("\r", ""), "/dev/pts/0\n");
  const dir = await tempDir();
  try {
    const sources = ["/bin", "/lib", "/lib64", "/usr"].filter(pathExists);
    await Deno.writeTextFile(
      `${dir}/devfs.toml`,
      `mounts = [\n${sources.map((s) => `  { source = "${s}" },\n`).join("")}` +
        '  { source = "", destination = "/dev", type = "devfs" },\n]\n',
    );
    const config = await hakoniwa([
      "run",
      "-c",
      `${dir}/devfs.toml`,
      "--",
      "/bin/sh",
      "-c",
      "script -qc tty /dev/null",
    ]);
    assert.equal(config.code, 0, config.stderr);
    assert.equal(config.stdout.replaceAll("\r", ""), "/dev/pts/0\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("the library's devfs has a pty: Container.devfs()", async () => {
  const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
  const out = await c.command("/usr/bin/python3", { args: ["-c", PY_PTY] }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  assert.equal(dec.decode(out.stdout), "/dev/pts/0 b'hi\\n'\n");
});
