// Class: inherited file descriptors that reach host files. A file given on stdin is read, never reopened for
// writing through /proc/self/fd/0: it reaches the command through a pipe.
import assert from "node:assert/strict";
import { CLI_SH, sandboxTest, tempDir } from "../helpers.ts";

sandboxTest("stdin: a host file on stdin is readable inside but cannot be reopened for writing", async () => {
  const dir = await tempDir();
  try {
    const file = `${dir}/input.txt`;
    await Deno.writeTextFile(file, "line one\nline two\n");
    const script = `readlink /proc/self/fd/0; echo pwned 2>/dev/null > /proc/self/fd/0; echo 'write='$?; cat`;
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", `${CLI_SH} run -- /bin/sh -c "$1" < "$2"`, "sh", script, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(await Deno.readTextFile(file), "line one\nline two\n", "the payload wrote the host file");
    assert.match(stdout, /^pipe:\[\d+\]$/m, stdout);
    // Writing to /proc/self/fd/0 now writes into the pipe, which only the command itself reads.
    assert.match(stdout, /line one\nline two\n/, "the command must still read the file's bytes");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
