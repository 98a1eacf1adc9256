// Class: input that hangs the launcher before any limit applies. Every file the CLI reads (a policy, an include, a
// file a template reads, a 1.x config, a seccomp profile, a rootdir's passwd) is opened non-blocking and must be a
// regular file: a FIFO put in its place (by another user, or by an earlier payload in a read-write bind) is one
// clear line naming the file, exit 2, and nothing runs.
import assert from "node:assert/strict";
import { cliArgv, pathExists, sandboxTest, tempDir } from "../helpers.ts";

/** Runs the CLI, killed after `ms`; a launcher that hangs in open() never ends by itself. */
async function cli(args: string[], ms = 30_000): Promise<{ code: number; stderr: string }> {
  const [deno, ...argv] = cliArgv(...args);
  const signal = AbortSignal.timeout(ms);
  const out = await new Deno.Command(deno, { args: argv, stdin: "null", stdout: "null", stderr: "piped", signal })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(signal.aborted, false, `hakoniwa ${args.join(" ")} hung on a FIFO`);
  return { code: out.code, stderr };
}

async function mkfifo(path: string) {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, `mkfifo ${path}`);
}

sandboxTest("FIFO: check, --policy-file, include, fs_read_to_string, -c and --seccomp say so at once", async () => {
  const dir = await tempDir();
  try {
    const fifo = `${dir}/fifo`;
    await mkfifo(fifo);
    await Deno.writeTextFile(`${dir}/inc.toml`, `include = ["${fifo}"]\n`);
    await Deno.writeTextFile(`${dir}/tpl.toml`, `hostname = {{ fs_read_to_string "${fifo}" }}\n`);
    const ran = ["--", "/bin/sh", "-c", `touch ${dir}/ran`];
    const not = `${fifo}: is not a regular file (a FIFO)`;
    const cases: [string[], string][] = [
      [["check", fifo], `hakoniwa: check: cannot read ${not}\n`],
      [["run", "--policy-file", fifo, ...ran], `hakoniwa: --policy-file: cannot read ${not}\n`],
      [["check", `${dir}/inc.toml`], `hakoniwa: ${dir}/inc.toml:1:12: include[0]: cannot read ${not}\n`],
      [
        ["run", "--policy-file", `${dir}/inc.toml`, ...ran],
        `hakoniwa: ${dir}/inc.toml:1:12: include[0]: cannot read ${not}\n`,
      ],
      [
        ["run", "--policy-file", `${dir}/tpl.toml`, ...ran],
        `hakoniwa: ${dir}/tpl.toml: template: is not a regular file (a FIFO)\n`,
      ],
      [["run", "-c", fifo, ...ran], `hakoniwa: --config: cannot read ${not}\n`],
      [
        ["run", "--seccomp", `${dir}/p.json`, ...ran],
        `hakoniwa: --seccomp: cannot read ${dir}/p.json: is not a regular file (a FIFO)\n`,
      ],
    ];
    await mkfifo(`${dir}/p.json`);
    for (const [args, line] of cases) {
      const r = await cli(args);
      assert.deepEqual([r.code, r.stderr], [2, line], args.join(" "));
    }
    assert.equal(pathExists(`${dir}/ran`), false, "a command ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("FIFO: a rootdir's etc/passwd that is a FIFO, or a link to one, is refused for --user", async () => {
  const dir = await tempDir();
  try {
    for (const d of ["bin", "lib", "lib64", "usr", "proc", "tmp", "dev", "etc"]) await Deno.mkdir(`${dir}/${d}`);
    await mkfifo(`${dir}/etc/passwd`);
    const fifo = await cli(["run", "--rootdir", dir, "--user", "nobody", "--", "/bin/true"]);
    assert.deepEqual(
      [fifo.code, fifo.stderr],
      [2, `hakoniwa: --user: cannot read ${dir}/etc/passwd: is not a regular file (a FIFO)\n`],
    );
    await Deno.rename(`${dir}/etc/passwd`, `${dir}/tmp/fifo`);
    await Deno.symlink("/tmp/fifo", `${dir}/etc/passwd`);
    const link = await cli(["run", "--rootdir", dir, "--user", "nobody", "--", "/bin/true"]);
    assert.deepEqual(
      [link.code, link.stderr],
      [2, `hakoniwa: --user: cannot read ${dir}/etc/passwd: is a symbolic link: not following it\n`],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
