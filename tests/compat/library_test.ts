/**
 * hakoniwa 1.x's library cases (its `hakoniwa/tests/container_test.rs`) that the CLI cases do not cover, ported to
 * this library, as root and rootless: rootfs, rootdir, nested binds, devfs, dir. 1.x's `Container::new()` is
 * `Container.empty().procfs("/proc")` here (new user, mount and pid namespaces and a /proc; `new Container()` adds
 * a /dev and a /tmp); its Alpine tree is the busybox root of rootfs.ts, so the files looked for are that tree's
 * (`/etc/passwd` where 1.x reads `/etc/os-release`, `sbin` and `usr/bin` where it reads `lib` and `usr/share`).
 */
import assert from "node:assert/strict";
import { Container } from "../../mod.ts";
import { loadNativeSync } from "../../src/native/ffi.ts";
import { compileProfile, defaultProfile } from "../../src/seccomp/profile.ts";
import { sandboxTest, SKIP_REASON } from "../helpers.ts";
import { makeRootfs } from "./rootfs.ts";

if (!SKIP_REASON) {
  loadNativeSync();
  compileProfile(defaultProfile());
}

const dec = new TextDecoder();

/** 1.x's `Container::new()`. */
function new1x(): Container {
  return Container.empty().procfs("/proc");
}

async function run(c: Container, program: string, ...args: string[]) {
  const out = await c.command(program, { args }).output();
  return { success: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

let fixture: string | null = null;
function rootfs(): string {
  fixture ??= makeRootfs();
  return fixture;
}
globalThis.addEventListener("unload", () => fixture && Deno.removeSync(fixture, { recursive: true }));

sandboxTest('1.x test_rootfs_local: rootfs("/") has the system\'s directories and no others', async () => {
  const out = await run(new1x().rootfs("/"), "/bin/ls", "/");
  assert.ok(out.success, out.stderr);
  const names = out.stdout.split("\n");
  for (const d of ["bin", "etc", "lib", "proc", "sbin", "usr"]) assert.ok(names.includes(d), `${d} in ${out.stdout}`);
  for (const d of ["boot", "dev", "home", "mnt", "opt", "root", "run", "sys", "tmp", "var"]) {
    assert.ok(!names.includes(d), `no ${d} in ${out.stdout}`);
  }
});

sandboxTest("1.x test_rootfs_customized: rootfs(DIR) runs DIR's programs with DIR's /etc", async () => {
  const out = await run(new1x().rootfs(rootfs()), "/bin/cat", "/etc/passwd");
  assert.ok(out.success, out.stderr);
  assert.match(out.stdout, /^root:x:0:0:root:\/root:\/bin\/sh$/m);
});

Deno.test("1.x test_rootfs_dir_not_exists: rootfs of a missing directory says so", () => {
  assert.throws(() => new1x().rootfs("/dir/not/exists"), /no such file or directory/);
});

sandboxTest("1.x test_rootfs_rdonly: the root is read-only", async () => {
  const out = await run(new1x().rootfs("/"), "/bin/touch", "/myfile.txt");
  assert.ok(!out.success);
  assert.match(out.stderr, /Read-only file system/);
});

sandboxTest('1.x test_rootdir_customized: rootdir(EMPTYDIR).rootfs("/") runs the host\'s programs', async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/myfile.txt`, "");
    const out = await run(new1x().rootdir(dir).rootfs("/"), "/bin/ls", "/myfile.txt");
    assert.ok(out.success, out.stderr);
    assert.equal(out.stdout, "/myfile.txt\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("1.x test_bindmount_ro_container_path_nested: four binds given deepest first", async () => {
  const c = new1x().rootfs("/")
    .bindRo(`${rootfs()}/bin`, "/a1/b1/c1")
    .bindRo(`${rootfs()}/etc`, "/a1")
    .bindRo(`${rootfs()}/sbin`, "/a1/b1/c2")
    .bindRo(`${rootfs()}/usr`, "/a1/b1");
  for (const path of ["/a1/b1/c1/busybox", "/a1/passwd", "/a1/b1/c2/acpid", "/a1/b1/bin/ar"]) {
    const out = await run(c, "/bin/ls", path);
    assert.ok(out.success, out.stderr);
    assert.equal(out.stdout, `${path}\n`);
  }
});

sandboxTest("1.x test_devfsmount_default_devices: the devices, links, shm, pts and ptmx", async () => {
  const out = await run(new1x().rootfs("/").devfs("/mydev"), "/bin/ls", "/mydev");
  assert.ok(out.success, out.stderr);
  const names = out.stdout.split("\n");
  for (const d of ["null", "zero", "full", "random", "urandom", "tty", "stdin", "stdout", "stderr", "shm", "pts"]) {
    assert.ok(names.includes(d), `${d} in ${out.stdout}`);
  }
  assert.ok(names.includes("ptmx"), out.stdout);
});

sandboxTest("1.x test_dir and test_dir_chmod: dir(path, 0o700), before or after a bind beneath it", async () => {
  const dir = await run(new1x().rootfs("/").dir("/tmp", 0o700), "/bin/stat", "--printf", "%A", "/tmp");
  assert.ok(dir.success, dir.stderr);
  assert.equal(dir.stdout, "drwx------");
  const file = `${rootfs()}/etc/passwd`;
  const plain = await run(new1x().rootfs("/").bindRo(file, "/tmp/passwd"), "/bin/stat", "--printf", "%A", "/tmp");
  assert.equal(plain.stdout, "drwxr-xr-x", plain.stderr);
  const chmod = await run(
    new1x().rootfs("/").bindRo(file, "/tmp/passwd").dir("/tmp", 0o700),
    "/bin/stat",
    "--printf",
    "%A",
    "/tmp",
  );
  assert.equal(chmod.stdout, "drwx------", chmod.stderr);
});
