// Class: inherited file descriptors that reach host files. A stdout or stderr that is a file (`run -- CMD >> log`)
// reaches the command through a pipe the launcher empties into the file: the payload cannot reopen the log through
// /proc/self/fd/1 to read what it held or truncate it. --limit-fsize still ends the run as OLE at the limit.
import assert from "node:assert/strict";
import { CLI_SH, sandboxTest, tempDir } from "../helpers.ts";

/** Runs `sh -c LINE` with $1.. set to `args`: a shell does the redirections, as a user's would. */
async function sh(line: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", line, "sh", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

sandboxTest(
  "stdout file: the payload cannot read or truncate the log it is appended to, through fd 1 or 2",
  async () => {
    const dir = await tempDir();
    try {
      const log = `${dir}/log`, err = `${dir}/err`;
      await Deno.writeTextFile(log, "old secret of the log\n");
      await Deno.writeTextFile(err, "old secret of the err\n");
      // Non-blocking reads: on a pipe there is nothing to read (a blocking one would wait for the command itself).
      const payload = "for fd in 1 2; do readlink /proc/self/fd/$fd; " +
        "dd if=/proc/self/fd/$fd iflag=nonblock bs=4096 count=1 2>/dev/null; : > /proc/self/fd/$fd; done; echo new";
      const r = await sh(`${CLI_SH} run -- /bin/sh -c "$1" >> "$2" 2>> "$3"`, payload, log, err);
      assert.equal(r.code, 0, r.stderr);
      const [logText, errText] = [await Deno.readTextFile(log), await Deno.readTextFile(err)];
      assert.match(logText, /^old secret of the log\n/, `the log was truncated:\n${logText}`);
      assert.equal(
        logText.replace(/pipe:\[\d+\]/g, "pipe"),
        "old secret of the log\npipe\npipe\nnew\n",
        "the payload read a host file through its stdout",
      );
      assert.equal(errText, "old secret of the err\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("stdout file: --limit-fsize ends the run as OLE at the limit, counting what the file held", async () => {
  const dir = await tempDir();
  try {
    const out = `${dir}/out`;
    const run = (flags: string, script: string, redirect: string) =>
      sh(`${CLI_SH} run ${flags} --report-file "$2" -- /bin/sh -c "$1" ${redirect} "$3"`, script, `${dir}/r.json`, out);
    const fresh = await run("--limit-fsize 100", "head -c 1000 /dev/zero; echo after >&2", ">");
    assert.equal(fresh.code, 128 + 25, fresh.stderr);
    assert.equal((await Deno.stat(out)).size, 100);
    assert.match(await Deno.readTextFile(`${dir}/r.json`), /"status":"OLE"/);
    assert.match(fresh.stderr, /\(status OLE\)/);
    await Deno.writeTextFile(out, "x".repeat(60));
    const appended = await run("--limit-fsize 100", "head -c 30 /dev/zero; head -c 30 /dev/zero", ">>");
    assert.equal(appended.code, 128 + 25, appended.stderr);
    assert.equal((await Deno.stat(out)).size, 100);
    // Exactly up to the limit is fine, as the kernel's limit allows it.
    const exact = await run("--limit-fsize 100", "head -c 100 /dev/zero", ">");
    assert.equal(exact.code, 0, exact.stderr);
    assert.match(await Deno.readTextFile(`${dir}/r.json`), /"status":"OK"/);
    assert.equal((await Deno.stat(out)).size, 100);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("stdout file: stdout and stderr into one file keep their order (2>&1)", async () => {
  const dir = await tempDir();
  try {
    const r = await sh(
      `${CLI_SH} run -- /bin/sh -c "$1" > "$2" 2>&1`,
      "echo a; echo b >&2; echo c; echo d >&2",
      `${dir}/all`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/all`), "a\nb\nc\nd\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
