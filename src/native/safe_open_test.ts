// Unit tests of the host files the CLI and the library read and write (native/safe_open.c through safe_open.ts).
// The cases that need another user's file run as root, which can make one.
import assert from "node:assert/strict";
import {
  HostFileError,
  openHostFileForWrite,
  readHostFileSync,
  readHostTextSync,
  replaceHostFile,
} from "./safe_open.ts";

const ROOT = Deno.uid() === 0;
const OTHER = 1001; // owner of "another user's" files (root makes them)

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-safe-open-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(cmd: string, ...args: string[]) {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("read: a regular file whole; a FIFO, a directory, a missing file or an oversized one is an error", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/p.toml`, "hostname = 'x'\n");
    const { text, info } = readHostFileSync(`${dir}/p.toml`);
    assert.equal(text, "hostname = 'x'\n");
    assert.equal(info.uid, Deno.uid());
    await run("mkfifo", `${dir}/fifo`);
    // Non-blocking: no writer is ever opened, and the read returns at once with an error.
    assert.throws(() => readHostTextSync(`${dir}/fifo`), /^HostFileError: is not a regular file \(a FIFO\)$/);
    assert.throws(() => readHostTextSync(dir), /is a directory/);
    assert.throws(() => readHostTextSync(`${dir}/none`), (e) => e instanceof HostFileError && e.errno === 2);
    assert.throws(() => readHostTextSync(`${dir}/p.toml`, 4), /is larger than 4 bytes/);
  });
});

Deno.test("read: the caller's links are followed, on the way and at the name", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/real`);
    await Deno.writeTextFile(`${dir}/real/p.toml`, "a = 1\n");
    await Deno.symlink(`${dir}/real`, `${dir}/via`);
    await Deno.symlink("p.toml", `${dir}/real/alias.toml`);
    assert.equal(readHostTextSync(`${dir}/via/alias.toml`), "a = 1\n");
    assert.equal(readHostTextSync(`${dir}/via/../real/p.toml`), "a = 1\n");
  });
});

Deno.test({
  name: "read: another user's link is not followed, at the name or on the way; root's is [root]",
  ignore: !ROOT,
  fn: () =>
    withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/secret`, "root only\n");
      await Deno.symlink(`${dir}/secret`, `${dir}/planted.toml`);
      await run("chown", "-h", `${OTHER}:${OTHER}`, `${dir}/planted.toml`);
      assert.throws(
        () => readHostTextSync(`${dir}/planted.toml`),
        new RegExp(`planted.toml is a symbolic link of uid ${OTHER}, not yours or root's: not following it$`),
      );
      await Deno.symlink(dir, `${dir}/planted-dir`);
      await run("chown", "-h", `${OTHER}:${OTHER}`, `${dir}/planted-dir`);
      assert.throws(() => readHostTextSync(`${dir}/planted-dir/secret`), /planted-dir is a symbolic link of uid 1001/);
      await Deno.symlink(`${dir}/secret`, `${dir}/roots.toml`);
      assert.equal(readHostTextSync(`${dir}/roots.toml`), "root only\n");
    }),
});

Deno.test("read inside a root: its links resolve inside it, a link at the name is refused", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/tree/etc`, { recursive: true });
    await Deno.mkdir(`${dir}/tree/usr/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tree/usr/etc/passwd`, "root:x:0:0::/:/bin/sh\n");
    await Deno.remove(`${dir}/tree/etc`);
    await Deno.symlink("/usr/etc", `${dir}/tree/etc`); // absolute: the tree's /usr/etc, never the host's
    assert.equal(readHostFileSync("/etc/passwd", { root: `${dir}/tree` }).text, "root:x:0:0::/:/bin/sh\n");
    await Deno.symlink("/etc/hostname", `${dir}/tree/usr/etc/group`);
    assert.throws(() => readHostFileSync("/etc/group", { root: `${dir}/tree` }), /is a symbolic link/);
    assert.throws(
      () => readHostFileSync("/etc/shadow", { root: `${dir}/tree` }),
      (e) => e instanceof HostFileError && e.errno === 2,
    );
  });
});

Deno.test("write: a new file, an existing one emptied at write time, /dev/null; never a link, a FIFO", async () => {
  await withDir(async (dir) => {
    const out = openHostFileForWrite(`${dir}/r.json`);
    assert.equal(out.regular, true);
    await out.write("first, longer\n");
    await out.write("second\n");
    out.close();
    assert.equal(await Deno.readTextFile(`${dir}/r.json`), "second\n");
    const dev = openHostFileForWrite("/dev/null");
    assert.equal(dev.regular, false);
    await dev.write("x");
    dev.close();
    await Deno.writeTextFile(`${dir}/victim`, "precious\n");
    await Deno.symlink(`${dir}/victim`, `${dir}/link.json`);
    assert.throws(() => openHostFileForWrite(`${dir}/link.json`), /is a symbolic link: not following it/);
    // A link an earlier sandbox left: replaced by a new file when asked, never followed.
    openHostFileForWrite(`${dir}/link.json`, { replaceLink: true }).close();
    assert.equal((await Deno.lstat(`${dir}/link.json`)).isFile, true);
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "precious\n");
    await run("mkfifo", `${dir}/fifo`);
    assert.throws(() => openHostFileForWrite(`${dir}/fifo`), /is not a regular file or a character device \(a FIFO\)/);
  });
});

Deno.test("write: not beneath a directory every user can write, unless sticky", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/open`);
    await Deno.chmod(`${dir}/open`, 0o777);
    assert.throws(
      () => openHostFileForWrite(`${dir}/open/r.json`),
      /open can be written by every user \(mode 0777, not sticky\): not writing beneath it/,
    );
    assert.throws(() => replaceHostFile(`${dir}/open/sub/x.bash`, "x"), /not writing beneath it/);
    await Deno.chmod(`${dir}/open`, 0o1777);
    openHostFileForWrite(`${dir}/open/r.json`).close();
    assert.equal(replaceHostFile(`${dir}/open/sub/x.bash`, "x\n"), `${dir}/open/sub/x.bash`);
  });
});

Deno.test({
  name: "write: not in another user's directory, nor over another user's file in a sticky one [root]",
  ignore: !ROOT,
  fn: () =>
    withDir(async (dir) => {
      await Deno.mkdir(`${dir}/theirs`);
      await run("chown", `${OTHER}:${OTHER}`, `${dir}/theirs`);
      assert.throws(
        () => replaceHostFile(`${dir}/theirs/x.bash`, "x"),
        /theirs belongs to uid 1001, not to you or root: not writing beneath it/,
      );
      assert.throws(() => openHostFileForWrite(`${dir}/theirs/r.json`), /belongs to uid 1001/);
      await Deno.chmod(dir, 0o1777);
      await Deno.writeTextFile(`${dir}/their.json`, "");
      await run("chown", `${OTHER}:${OTHER}`, `${dir}/their.json`);
      assert.throws(
        () => openHostFileForWrite(`${dir}/their.json`),
        /belongs to uid 1001 in .*, which other users can write: not writing it/,
      );
    }),
});

Deno.test("replace: directories made, the file renamed into place, a link at the name refused", async () => {
  await withDir(async (dir) => {
    const where = replaceHostFile(`${dir}/a/b/hakoniwa.bash`, "one\n");
    assert.equal(where, `${dir}/a/b/hakoniwa.bash`);
    replaceHostFile(where, "two\n");
    assert.equal(await Deno.readTextFile(where), "two\n");
    assert.deepEqual([...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name), ["hakoniwa.bash"]); // no temp left
    await Deno.symlink(where, `${dir}/link`);
    assert.throws(() => replaceHostFile(`${dir}/link`, "x"), /is a symbolic link: not replacing it/);
    assert.throws(() => replaceHostFile(`${dir}/a`, "x"), /is a directory/);
    assert.throws(() => replaceHostFile(`${where}/x`, "x"), /hakoniwa.bash is not a directory/);
  });
});
