// Class: state of the caller the payload can change. Files the command makes through a bind get the caller's
// umask, never world-writable modes; the sandbox's init leads a session (and so an autogroup) of its own, so
// writing /proc/1/autogroup inside cannot change the nice value of the caller's session.
import assert from "node:assert/strict";
import { cliArgv, sandboxTest, tempDir } from "../helpers.ts";

const dec = new TextDecoder();

async function underUmask(umask: string, args: string[]) {
  const argv = cliArgv(...args);
  const out = await new Deno.Command("sh", {
    args: ["-c", `umask ${umask} && exec "$@"`, "sh", ...argv],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

sandboxTest("umask: files made through a rw bind get the caller's umask (027 and 077)", async () => {
  const dir = await tempDir();
  try {
    for (const [umask, file, dirMode] of [["027", 0o640, 0o750], ["077", 0o600, 0o700]] as const) {
      const r = await underUmask(umask, [
        "run",
        "--rw-bind",
        `${dir}:/out`,
        "--",
        "/bin/sh",
        "-c",
        `umask; touch /out/f${umask}; mkdir /out/d${umask}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `0${umask}`);
      assert.equal(Deno.statSync(`${dir}/f${umask}`).mode! & 0o7777, file);
      assert.equal(Deno.statSync(`${dir}/d${umask}`).mode! & 0o7777, dirMode);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("autogroup: /proc/1/autogroup inside is not the caller's session's", async () => {
  const mine = Deno.readTextFileSync("/proc/self/autogroup").trim(); // "/autogroup-N nice K"
  const r = await underUmask("022", [
    "run",
    "--",
    "/bin/sh",
    "-c",
    "cat /proc/1/autogroup; echo 19 > /proc/1/autogroup 2>/dev/null; cat /proc/1/autogroup",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const inside = r.stdout.trim().split("\n")[0];
  assert.notEqual(inside.split(" ")[0], mine.split(" ")[0], "the sandbox's init shares the caller's autogroup");
  assert.equal(Deno.readTextFileSync("/proc/self/autogroup").trim(), mine, "the caller's autogroup changed");
});
