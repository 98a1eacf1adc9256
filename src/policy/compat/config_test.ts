import assert from "node:assert/strict";
import { PolicyError } from "../../common/errors.ts";
import { isConfig1x, parseConfig1x } from "./config.ts";
import { findUp, glob, xdgUserDir } from "./template.ts";

const host = { env: { HOME: "/home/u", TERM: "xterm", MYENV: "123" }, cwd: "/work", uid: 1000, gid: 100 };

Deno.test("config 1.x: every key becomes the policy", async () => {
  const p = await parseConfig1x(
    `namespaces = [{ type = "uts" }, { type = "network" }, { type = "ipc", share = true }]
mounts = [
  { source = "/usr" },
  { source = "data", destination = "/data", rw = true },
  { source = "", destination = "/tmp", type = "tmpfs" },
  { source = "", destination = "/dev", type = "devfs" },
]
filesystem.files = [{ destination = "/etc/motd", contents = "hi" }]
filesystem.dirs = [{ destination = "/home/u" }]
filesystem.symlinks = [{ original = "usr/bin", link = "/bin" }]
envs = [{ name = "TERM" }, { name = "UNSET" }, { name = "A", value = "1" }]
limits = [{ type = "nofile", value = 64 }, { type = "walltime", value = 5 }]
uidmaps = [{ container_id = 0 }, { container_id = 1, host_id = 100000, size = 65536 }]
gidmaps = [{ container_id = 0, host_id = 7, count = 2 }]
landlock.resources = [{ type = "fs" }]
landlock.fs = [{ path = "/usr", access = "r-x" }, { path = "/tmp", perm = "rw-" }]
rootdir = { path = "/srv/root", rw = true }
hostname = "box"
command = { cmdline = ["sh", "-c", "true"], cwd = "/data" }
`,
    "/etc/hk/a.toml",
    host,
  );
  assert.equal(p.file, "/etc/hk/a.toml");
  assert.deepEqual([p.shareUts, p.shareNet, p.shareIpc, p.shareCgroup], [false, false, true, true]);
  assert.deepEqual(p.mounts, [
    { source: "/usr", target: "/usr", rw: false, optional: false },
    { source: "/work/data", target: "/data", rw: true, optional: false },
    { target: "/tmp", rw: true, fstype: "tmpfs" },
    { target: "/dev", rw: true, fstype: "devfs" },
  ]);
  assert.deepEqual(p.files, [{ target: "/etc/motd", contents: "hi" }]);
  assert.deepEqual(p.dirs, [{ target: "/home/u", mode: 0o700 }]);
  assert.deepEqual(p.symlinks, [{ original: "usr/bin", link: "/bin" }]);
  assert.deepEqual(p.env, { TERM: "xterm", UNSET: "", A: "1" });
  assert.deepEqual(p.limits, { nofile: 64, walltime: 5 });
  assert.deepEqual(p.uidMaps, [{ container: 0, host: 1000, count: 1 }, { container: 1, host: 100000, count: 65536 }]);
  assert.deepEqual(p.gidMaps, [{ container: 0, host: 7, count: 2 }]);
  assert.deepEqual(p.landlock?.restrict, ["fs"]);
  assert.deepEqual(p.landlock?.paths, [{ path: "/usr", access: "rx" }, { path: "/tmp", access: "rw" }]);
  assert.deepEqual(p.rootdir, { path: "/srv/root", rw: true });
  assert.equal(p.hostname, "box");
  assert.deepEqual(p.command, { argv: ["sh", "-c", "true"], cwd: "/data" });
  assert.equal(p.mountNewTmpfs || p.mountNewDevfs, false);
  assert.equal(p.seccomp, undefined);
  assert(isConfig1x(p));
});

Deno.test("config 1.x: 1.x defaults, a hostname implies uts, legacy uidmap", async () => {
  const p = await parseConfig1x('hostname = "h"\nuidmap.container_id = 0\n', "/c.toml", host);
  assert.deepEqual([p.shareNet, p.shareUts, p.shareIpc, p.shareCgroup], [true, false, true, true]);
  assert.deepEqual(p.uidMaps, [{ container: 0, host: 1000, count: 1 }]);
  assert.deepEqual(p.mounts, []);
  assert.deepEqual(p.env, {});
  const net = await parseConfig1x('network = { mode = "pasta", options = ["-T", "80"] }', "/c.toml", host);
  assert.equal(net.shareNet, false);
  assert.deepEqual(net.network, { mode: "pasta", options: ["-T", "80"] });
});

Deno.test("config 1.x: @include merges lists in order and the last mount on a target wins", async () => {
  const files: Record<string, string> = {
    "/etc/hk/abstractions/base.toml": `mounts = [{ source = "/usr" }, { source = "/opt", destination = "/x" }]
envs = [{ name = "A", value = "base" }]
landlock.resources = [{ type = "fs" }, { type = "tcp.connect" }]
network.mode = "none"`,
    "/etc/hk/net.toml": 'network.mode = "pasta"\nnamespaces = [{ type = "network" }]',
  };
  const p = await parseConfig1x(
    `"@include" = ["abstractions/base.toml", "net.toml"]
mounts = [{ source = "/srv", destination = "/x", rw = true }]
envs = [{ name = "A", value = "own" }]
landlock.resources = [{ type = "tcp.connect", unrestrict = true }]`,
    "/etc/hk/app.toml",
    { ...host, read: (f) => files[f] },
  );
  assert.deepEqual(p.filesRead, ["/etc/hk/abstractions/base.toml", "/etc/hk/net.toml", "/etc/hk/app.toml"]);
  assert.deepEqual(p.mounts.map((m) => [m.source, m.target]), [["/usr", "/usr"], ["/srv", "/x"]]);
  assert.deepEqual(p.env, { A: "own" });
  assert.equal(p.network?.mode, "pasta");
  assert.deepEqual(p.landlock?.restrict, ["fs"]);
});

Deno.test("config 1.x: errors name file, line and key", async () => {
  const bad = async (text: string, re: RegExp, read?: (p: string) => string) => {
    await assert.rejects(() => parseConfig1x(text, "/c.toml", { ...host, read }), (e: Error) => {
      assert(e instanceof PolicyError, e.message);
      assert.match(e.message, re);
      return true;
    });
  };
  await bad('hostname = "h"\nshare_net = true', /^\/c\.toml:2:1: share_net: unknown key/);
  await bad(
    'mounts = [{ source = "/usr", destination = "usr" }]',
    /mounts\[0\]\.destination: expected an absolute path/,
  );
  await bad('mounts = [{ source = "", destination = "/x", type = "nfs" }]', /mounts\[0\]\.type: expected/);
  await bad('limits = [{ type = "stack", value = 1 }]', /limits\[0\]\.type: expected one of/);
  await bad('namespaces = [{ type = "time" }]', /namespaces\[0\]\.type/);
  await bad('landlock.fs = [{ path = "/x", access = "rq" }]', /landlock\.fs\[0\]\.access/);
  await bad('"@include" = ["i.toml"]', /\/i\.toml:1:1: hostname: unknown key/, () => 'hostname = "x"');
  await bad('"@include" = ["missing.toml"]', /cannot read \/missing\.toml/, () => {
    throw new Error("nope");
  });
});

Deno.test("config 1.x: templates with minijinja, 1.x's functions, tests and globals", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.symlink("sub", `${dir}/link`);
    const text = `hostname = "h{{ MYENV }}"
envs = [
  { name = "DIR", value = "{{ __dir__ }}" },
  { name = "TERM", value = "{{ os_env('TERM') }}-{{ os_env('NOPE') }}" },
  { name = "LINK", value = "{{ fs_read_link(__dir__ ~ '/link') }}" },
  { name = "T", value = "{{ path_is_dir(__dir__ ~ '/link') }} {{ path_is_symlink(__dir__ ~ '/link') }} {{ path_exists('/nope') }}" },
  { name = "U", value = "{% if __dir__ ~ '/sub' is dir %}d{% endif %}{% if 'MYENV' is env %}e{% endif %}" },
  { name = "G", value = "{{ fs_glob(__dir__ ~ '/*') | length }}" },
]
{{ fs_mkdir(__dir__ ~ '/made/deep') }}{{ fs_touch(__dir__ ~ '/made/file') }}`;
    const p = await parseConfig1x(text, `${dir}/c.toml`, host);
    assert.equal(p.hostname, "h123");
    assert.deepEqual(p.env, { DIR: dir, TERM: "xterm-", LINK: "sub", T: "true true false", U: "de", G: "2" });
    assert(Deno.statSync(`${dir}/made/deep`).isDirectory && Deno.statSync(`${dir}/made/file`).isFile);
    await assert.rejects(
      () => parseConfig1x(`a = "{{ fs_read_link('${dir}/sub') }}"`, `${dir}/c.toml`, host),
      /template: read_link\(.*\/sub"\) =>/,
    );
    await assert.rejects(() => parseConfig1x("a = {{ ", `${dir}/c.toml`, host), /c\.toml: template: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config 1.x: fs_findup, fs_glob, fs_xdg_user_dir", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/a/b/c`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a/mark`, "");
    await Deno.writeTextFile(`${dir}/a/b/x.toml`, "");
    await Deno.writeTextFile(`${dir}/a/b/c/y.toml`, "");
    await Deno.writeTextFile(`${dir}/a/b/.h.toml`, "");
    assert.equal(findUp("mark", `${dir}/a/b/c`), `${dir}/a/mark`);
    assert.equal(findUp("no-such-file-here", `${dir}/a/b/c`), "");
    assert.deepEqual(glob(`${dir}/a/b/*.toml`), [`${dir}/a/b/x.toml`]);
    assert.deepEqual(glob(`${dir}/a/**/*.toml`), [`${dir}/a/b/c/y.toml`, `${dir}/a/b/x.toml`]);
    assert.deepEqual(glob("b/?.toml", `${dir}/a`), ["b/x.toml"]);
    await Deno.mkdir(`${dir}/cfg`);
    await Deno.writeTextFile(`${dir}/cfg/user-dirs.dirs`, 'XDG_DOWNLOAD_DIR="$HOME/dl"\n');
    const env = { HOME: dir, XDG_CONFIG_HOME: `${dir}/cfg` };
    assert.equal(xdgUserDir("DOWNLOAD", env), `${dir}/dl`);
    assert.equal(xdgUserDir("VIDEOS", env), `${dir}/Videos`);
    assert.equal(xdgUserDir("PROJECT", env), `${dir}/Projects`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
