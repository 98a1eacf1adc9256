// Class: state the supervisor writes after the run, at a path the payload can change. The report file is opened
// before the run and written through that descriptor: no swap sends it elsewhere, no failure changes the exit code.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, tempDir } from "../helpers.ts";

sandboxTest("report file: the payload swaps its directory for a symlink; the report stays put", async () => {
  const dir = await tempDir(), elsewhere = await tempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.chmod(elsewhere, 0o777);
    const r = await hakoniwa([
      "run",
      "--rw-bind",
      `${dir}:/out`,
      "--report-file",
      `${dir}/sub/report.json`,
      "--",
      "/bin/sh",
      "-c",
      `mv /out/sub /out/moved && ln -s ${elsewhere} /out/sub && exit 3`,
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual([...Deno.readDirSync(elsewhere)], [], "the report went through the payload's symlink");
    assert.match(await Deno.readTextFile(`${dir}/moved/report.json`), /"exit_code":3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

sandboxTest("report file: a directory put in its place neither crashes the launcher nor changes the code", async () => {
  const dir = await tempDir();
  try {
    const r = await hakoniwa([
      "run",
      "--rw-bind",
      `${dir}:/out`,
      "--report-file",
      `${dir}/report.json`,
      "--",
      "/bin/sh",
      "-c",
      "rm -f /out/report.json && mkdir /out/report.json && exit 4",
    ]);
    assert.equal(r.code, 4, r.stderr);
    assert.doesNotMatch(r.stderr, /Uncaught|error:/, r.stderr);
    assert.ok((await Deno.stat(`${dir}/report.json`)).isDirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("report file: /dev/full is one clear line, and the exit code is the command's", async () => {
  const r = await hakoniwa(["run", "--report-file", "/dev/full", "--", "/bin/sh", "-c", "exit 5"]);
  assert.equal(r.code, 5, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^hakoniwa: --report-file: cannot write \/dev\/full: /);
});
