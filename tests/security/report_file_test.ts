// Class: state the supervisor writes after the run, at a path the payload or another user can change. The report
// file is opened before the run and written through that descriptor: no swap sends it elsewhere, no failure changes
// the exit code. It is never opened through a link at its name, nor a FIFO (which would hang the launcher before
// any walltime applies), nor beneath a directory another user can write unless sticky with the file the caller's.
import assert from "node:assert/strict";
import { cliArgv, hakoniwa, IS_ROOT, pathExists, sandboxTest, SKIP_REASON, tempDir } from "../helpers.ts";

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

/** Runs the CLI, killed after `ms` (a launcher hung in open() would never end by itself). */
async function cli(args: string[], ms = 30_000): Promise<{ code: number; stderr: string; timedOut: boolean }> {
  const [deno, ...argv] = cliArgv(...args);
  const signal = AbortSignal.timeout(ms);
  const out = await new Deno.Command(deno, { args: argv, stdin: "null", stdout: "null", stderr: "piped", signal })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr), timedOut: signal.aborted };
}

sandboxTest("report file: a symbolic link at the path is not followed, even the caller's own", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/victim`, "precious\n");
    await Deno.symlink(`${dir}/victim`, `${dir}/r.json`);
    const r = await cli(["run", "--report-file", `${dir}/r.json`, "--", "/bin/sh", "-c", `touch ${dir}/ran`]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `hakoniwa: --report-file: cannot open ${dir}/r.json: is a symbolic link: not following it (give the path it ` +
        "points to)\n",
    );
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "precious\n");
    assert.equal(pathExists(`${dir}/ran`), false, "the command ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "report file: another user's link in a sticky directory (/tmp/r.json -> /root/x) is refused [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null,
}, async () => {
  const sticky = await tempDir(), secret = await tempDir();
  try {
    await Deno.chmod(sticky, 0o1777);
    await Deno.writeTextFile(`${secret}/x`, "root's\n");
    await Deno.symlink(`${secret}/x`, `${sticky}/r.json`);
    const chown = await new Deno.Command("chown", { args: ["-h", "65534:65534", `${sticky}/r.json`] }).output();
    assert.ok(chown.success);
    const r = await cli(["run", "--report-file", `${sticky}/r.json`, "--", "/bin/true"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^hakoniwa: --report-file: cannot open .*r\.json: is a symbolic link: not following it/);
    assert.equal(await Deno.readTextFile(`${secret}/x`), "root's\n");
    // Another user's file there is not written either (they could read the report, or swap it).
    await Deno.remove(`${sticky}/r.json`);
    await Deno.writeTextFile(`${sticky}/r.json`, "");
    await Deno.chown(`${sticky}/r.json`, 65534, 65534);
    const theirs = await cli(["run", "--report-file", `${sticky}/r.json`, "--", "/bin/true"]);
    assert.equal(theirs.code, 2, theirs.stderr);
    assert.match(theirs.stderr, /r\.json: belongs to uid 65534 in .*, which other users can write: not writing it\n$/);
  } finally {
    await Deno.remove(sticky, { recursive: true });
    await Deno.remove(secret, { recursive: true });
  }
});

sandboxTest(
  "report file: a link a --rootdir DIR:rw run planted for the next run's report is not followed",
  async () => {
    const root = await tempDir(), elsewhere = await tempDir();
    try {
      for (const d of ["bin", "lib", "lib64", "usr", "proc", "tmp", "dev", "out"]) await Deno.mkdir(`${root}/${d}`);
      const victim = `${elsewhere}/victim`;
      await Deno.writeTextFile(victim, "precious\n");
      const plant = await cli(["run", "--rootdir", `${root}:rw`, "--", "/bin/ln", "-s", victim, "/out/report.json"]);
      assert.equal(plant.code, 0, plant.stderr);
      assert.equal(Deno.lstatSync(`${root}/out/report.json`).isSymlink, true);
      const r = await cli(["run", "--rootdir", `${root}:rw`, "--report-file", `${root}/out/report.json`, "--", "true"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await Deno.readTextFile(victim), "precious\n", "the report went through the planted link");
      assert.equal(Deno.lstatSync(`${root}/out/report.json`).isFile, true);
      assert.match(await Deno.readTextFile(`${root}/out/report.json`), /"status":"OK"/);
    } finally {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(elsewhere, { recursive: true });
    }
  },
);

sandboxTest("report file: a FIFO at the path is one clear error before anything runs, not a hang", async () => {
  const dir = await tempDir();
  try {
    const mk = await new Deno.Command("mkfifo", { args: [`${dir}/r.json`] }).output();
    assert.ok(mk.success);
    const r = await cli(["run", "--report-file", `${dir}/r.json`, "--", "/bin/sh", "-c", `touch ${dir}/ran`]);
    assert.equal(r.timedOut, false, "the launcher hung opening the FIFO");
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `hakoniwa: --report-file: cannot open ${dir}/r.json: is not a regular file or a character device (a FIFO)\n`,
    );
    assert.equal(pathExists(`${dir}/ran`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("report file: not in a directory every user can write (not sticky); /dev/null still is one", async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/open`);
    await Deno.chmod(`${dir}/open`, 0o777);
    const r = await cli(["run", "--report-file", `${dir}/open/r.json`, "--", "/bin/true"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /open can be written by every user \(mode 0777, not sticky\): not writing beneath it\n$/);
    assert.equal(pathExists(`${dir}/open/r.json`), false);
    const dev = await cli(["run", "--report-file", "/dev/null", "--", "/bin/true"]);
    assert.equal(dev.code, 0, dev.stderr);
    assert.equal(dev.stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
