// Unit tests of policy parsing and validation: every error names file, line, column and key.
import assert from "node:assert/strict";
import { PolicyError } from "../common/errors.ts";
import { parsePolicy, parsePolicyAsync, POLICY_SECTIONS } from "./policy.ts";
import { containerFromPolicy } from "../policy_container.ts";

/** Asserts that parsing fails with `FILE:LINE:COL: KEY: ...` matching `what`. */
function rejects(
  text: string,
  line: number,
  key: string,
  what: RegExp,
  files: Record<string, string> = {},
  file = "/p/main.toml",
) {
  try {
    parsePolicy(text, "/p/main.toml", (p) => {
      if (p in files) return files[p];
      throw new Error("not found");
    });
  } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    const m = /^(.+?):(\d+):(\d+): (\S+): (.*)$/.exec(e.message);
    assert.ok(m, `message without file:line:col: key: ${e.message}`);
    assert.equal(m[1], file, e.message);
    assert.equal(Number(m[2]), line, e.message);
    assert.equal(m[4], key, e.message);
    assert.match(m[5], what);
    return;
  }
  assert.fail(`accepted: ${text}`);
}

Deno.test("the seed's format parses as written", () => {
  const p = parsePolicy(
    `mount_new_tmpfs = true
mount_new_devfs = true
mounts = [
  { source = "/bin", target = "/bin" },
  { source = "/data", target = "/srv", rw = true },
  { target = "/scratch", fstype = "tmpfs" },
]
files = [{ target = "/etc/motd", contents = "hi" }]
hostname = "box"
uid = 0
gid = 0
share_net = true
share_uts = false
[env]
A = "1"
[limits]
as = 1000000
core = 0
cpu = 2
fsize = 1024
nofile = 32
nproc = 10
walltime = 5
`,
    "seed.toml",
  );
  assert.equal(p.mounts.length, 3);
  assert.deepEqual(p.mounts[1], { source: "/data", target: "/srv", rw: true, fstype: undefined });
  assert.deepEqual(p.limits, { as: 1000000, core: 0, cpu: 2, fsize: 1024, nofile: 32, nproc: 10, walltime: 5 });
  assert.equal(p.shareNet, true);
  assert.equal(p.hostname, "box");
});

Deno.test("extended keys parse into the container", () => {
  const p = parsePolicy(`
dirs = [{ target = "/work", mode = 0o750 }, { target = "/home" }]
symlinks = [{ original = "/proc/self/fd", link = "/fd" }]
rootdir = { path = "/srv/root", rw = true }
uid_maps = [{ container = 0, host = 100000, count = 1000 }, { container = 1000, host = 1001 }]
gid_maps = [{ container = 0, host = 100000, count = 1000 }]
user = "0:0"
share_ipc = true
share_cgroup = true
command = { argv = ["/bin/sh", "-c", "id"], cwd = "/work" }
`);
  assert.deepEqual(p.dirs, [{ target: "/work", mode: 0o750 }, { target: "/home", mode: 0o700 }], "0o700 unless told");
  assert.deepEqual(p.uidMaps[1], { container: 1000, host: 1001, count: 1 });
  assert.deepEqual(p.command, { argv: ["/bin/sh", "-c", "id"], cwd: "/work" });
  const s = containerFromPolicy(p).settings;
  assert.deepEqual(s.rootdir, { path: "/srv/root", rw: true });
  assert.ok(!s.unshare.has("ipc") && !s.unshare.has("cgroup") && s.unshare.has("network"));
  assert.equal(s.uid, 0);
  assert.equal(s.workdir, "/work");
  assert.ok(s.mounts.some((m) => m.kind === "symlink" && m.target === "/fd"));
  assert.ok(s.mounts.some((m) => m.kind === "dir" && m.target === "/work" && m.mode === 0o750));
});

Deno.test("unknown keys are rejected with file, line and key", () => {
  rejects('hostname = "a"\nshare_netz = true\n', 2, "share_netz", /unknown key/);
  rejects('mounts = [\n  { source = "/a", targte = "/b" },\n]\n', 2, "mounts[0].targte", /unknown key/);
  rejects("[limits]\ncpu = 1\nmemroy = 5\n", 3, "limits.memroy", /unknown key.*memory/);
  rejects('command = { argv = ["x"], dir = "/" }\n', 1, "command.dir", /unknown key/);
});

Deno.test("an unknown key names the nearest known one", () => {
  rejects('hostname = "a"\nshare_netz = true\n', 2, "share_netz", /unknown key; did you mean share_net\?/);
  rejects("[limits]\nnofiles = 1\n", 2, "limits.nofiles", /did you mean nofile\?/);
  rejects("zzzzzz = 1\n", 1, "zzzzzz", /^[^;]*unknown key \(expected one of/);
});

Deno.test("cwd chooses the working directory without binding it; command.cwd wins for the policy's command", () => {
  const p = parsePolicy('cwd = "/srv"\n', "/p/main.toml");
  const c = containerFromPolicy(p);
  assert.equal(c.settings.workdir, "/srv");
  assert.ok(!c.settings.mounts.some((m) => m.target === "/srv"));
  const both = containerFromPolicy(parsePolicy('cwd = "/srv"\ncommand = { argv = ["sh"], cwd = "/tmp" }\n', "/p.toml"));
  assert.equal(both.settings.workdir, "/tmp");
  rejects('cwd = "rel"\n', 1, "cwd", /absolute/);
});

Deno.test("wrong types are rejected with file, line and key", () => {
  rejects("\nshare_net = 1\n", 2, "share_net", /expected a boolean, got a number/);
  rejects('hostname = "a"\nuid = "0"\n', 2, "uid", /expected an integer, got a string/);
  rejects('mounts = { source = "/a" }\n', 1, "mounts", /expected an array of tables, got a table/);
  rejects("[env]\nA = 1\n", 2, "env.A", /expected a string, got a number/);
  rejects('\n\nrootdir = "/x"\n', 3, "rootdir", /expected a table, got a string/);
  rejects('dirs = [{ target = "/a", mode = "755" }]\n', 1, "dirs[0].mode", /expected an integer/);
  rejects("\ncommand = { argv = [] }\n", 2, "command.argv", /at least the program/);
  rejects('include = ["a.toml", 3]\n', 1, "include[1]", /expected a string, got a number/);
});

Deno.test("relative paths are rejected with file, line and key", () => {
  rejects(
    'mounts = [\n  { source = "/a" },\n  { source = "usr", target = "/usr" },\n]\n',
    3,
    "mounts[1].source",
    /absolute path/,
  );
  rejects('files = [{ target = "etc/x", contents = "" }]\n', 1, "files[0].target", /absolute path, got "etc\/x"/);
  rejects('\nsymlinks = [{ original = "x", link = "l" }]\n', 2, "symlinks[0].link", /absolute path/);
  rejects('rootdir = { path = "root" }\n', 1, "rootdir.path", /absolute path/);
  rejects('mounts = [{ source = "/a/../etc" }]\n', 1, "mounts[0].source", /'\.\.' is not allowed/);
});

Deno.test("a mount target given twice is rejected, in one file and across includes", () => {
  rejects(
    'mounts = [\n  { source = "/usr", target = "/usr" },\n  { source = "/opt", target = "/usr/" },\n]\n',
    3,
    "mounts[1].target",
    /"\/usr\/" is already the target of mounts\[0\]\.target/,
  );
  rejects('include = ["base.toml"]\n\nmounts = [{ source = "/usr" }]\n', 3, "mounts[0].target", /base\.toml:1/, {
    "/p/base.toml": 'mounts = [{ source = "/usr" }]\n',
  });
});

Deno.test("walltime 0, negative or overflowing is rejected; other limits too", () => {
  rejects("[limits]\nwalltime = 0\n", 2, "limits.walltime", /from 1 to 31536000, got 0/);
  rejects("[limits]\nwalltime = -5\n", 2, "limits.walltime", /got -5/);
  rejects("[limits]\n\nwalltime = 99999999999999999999\n", 3, "limits.walltime", /from 1 to 31536000/);
  rejects("[limits]\nwalltime = 1.5\n", 2, "limits.walltime", /expected an integer/);
  rejects("[limits]\nnofile = -1\n", 2, "limits.nofile", /from 0/);
  rejects("uid = 4294967295\n", 1, "uid", /from 0 to 4294967294/);
  rejects(
    "uid_maps = [{ container = 4294967290, host = 0, count = 10 }]\n",
    1,
    "uid_maps[0].count",
    /largest id/,
  );
});

Deno.test("TOML syntax errors, duplicate keys included, name file, line and column", () => {
  for (const [text, line] of [["a = \n", 1], ['hostname = "a"\nhostname = "b"\n', 2]] as const) {
    try {
      parsePolicy(text, "dup.toml");
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof PolicyError);
      assert.match(e.message, new RegExp(`^dup\\.toml:${line}:\\d+: `));
    }
  }
});

Deno.test("include: relative to the including file, lists concatenated, single values overridden", () => {
  const files: Record<string, string> = {
    "/p/lib/base.toml": 'include = ["../common.toml"]\nmounts = [{ source = "/usr" }]\nhostname = "base"\n' +
      '[env]\nA = "base"\nB = "base"\n',
    "/p/common.toml": 'mounts = [{ source = "/bin" }]\nshare_net = true\n',
  };
  const p = parsePolicy(
    'include = ["lib/base.toml"]\nmounts = [{ source = "/etc" }]\nhostname = "main"\n[env]\nB = "main"\n',
    "/p/main.toml",
    (path) => files[path],
  );
  assert.deepEqual(p.mounts.map((m) => m.target), ["/bin", "/usr", "/etc"]);
  assert.equal(p.hostname, "main");
  assert.equal(p.shareNet, true);
  assert.deepEqual(p.env, { A: "base", B: "main" });
  assert.deepEqual(p.filesRead, ["/p/lib/base.toml", "/p/common.toml", "/p/main.toml"]);
});

Deno.test("include cycles and missing includes are reported", () => {
  rejects(
    'include = ["a.toml"]\n',
    2,
    "include[0]",
    /include cycle: \/p\/a\.toml -> \/p\/b\.toml -> \/p\/a\.toml/,
    { "/p/a.toml": 'include = ["b.toml"]\n', "/p/b.toml": '\ninclude = ["a.toml"]\n' },
    "/p/b.toml",
  );
  rejects('\ninclude = ["main.toml"]\n', 2, "include[0]", /include cycle: \/p\/main\.toml -> \/p\/main\.toml/);
  rejects('include = ["gone.toml"]\n', 1, "include[0]", /cannot read \/p\/gone\.toml/);
});

Deno.test("errors inside an included file name that file", () => {
  try {
    parsePolicy('include = ["b.toml"]\n', "/p/main.toml", () => "\n\nuid = true\n");
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof PolicyError);
    assert.match(e.message, /^\/p\/b\.toml:3:1: uid: expected an integer, got a boolean$/);
  }
});

Deno.test("templates: os_env quotes, path_exists, fs_read_to_string, os_homedir", async () => {
  Deno.env.set("HK_TEST_VAR", 'a "quoted" \\ value\nline2');
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "file\tcontents");
    const p = parsePolicy(`
hostname = "h"
share_net = {{ path_exists "${dir}/f" }}
share_uts = {{ path_exists "${dir}/nope" }}
files = [{ target = "/f", contents = {{ fs_read_to_string "${dir}/f" }} }]
[env]
V = {{ os_env "HK_TEST_VAR" }}
U = {{ os_env "HK_TEST_UNSET_VAR" }}
H = {{ os_homedir }}
`);
    assert.equal(p.env.V, 'a "quoted" \\ value\nline2');
    assert.equal(p.env.U, "");
    assert.equal(p.env.H, Deno.env.get("HOME") ?? "");
    assert.equal(p.shareNet, true);
    assert.equal(p.shareUts, false);
    assert.equal(p.files[0].contents, "file\tcontents");
  } finally {
    Deno.env.delete("HK_TEST_VAR");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a template error names the file and line", async () => {
  await assert.rejects(() => parsePolicyAsync('\nA = {{ no_such_helper "x" }}\n', "t.toml"), (e: Error) => {
    assert.ok(e instanceof PolicyError);
    assert.match(e.message, /^t\.toml:2:5: template: .*unknown helper no_such_helper$/);
    return true;
  });
});

Deno.test("sections registered by other modules are validated and kept", () => {
  rejects("[extra]\non = true\n", 1, "extra", /unknown key/);
  POLICY_SECTIONS.extra = {
    parse: (c, path, v) => c.bool([...path, "on"], c.table(path, v, ["on"]).on, false),
    merge: (a, b) => Boolean(a) || Boolean(b),
  };
  try {
    assert.equal(parsePolicy("[extra]\non = true\n").sections.extra, true);
    rejects("[extra]\non = 3\n", 2, "extra.on", /expected a boolean/);
  } finally {
    delete POLICY_SECTIONS.extra;
  }
});

Deno.test("user resolves through the host's passwd; an unknown one is a policy error naming the file and key", () => {
  const s = containerFromPolicy(parsePolicy('user = "root"')).settings;
  assert.deepEqual([s.uid, s.gid], [0, 0]);
  assert.throws(
    () => containerFromPolicy(parsePolicy('user = "no-such-user-hk"', "p.toml")),
    (e: Error) =>
      e instanceof PolicyError && /^p\.toml: user: no user "no-such-user-hk" in \/etc\/passwd$/.test(e.message),
  );
  rejects('user = "a:b:c:d"\n', 1, "user", /USER, USER:GROUP or USER:GROUP:GROUP,\.\.\./);
  rejects('user = "a:b:c,"\n', 1, "user", /USER, USER:GROUP/);
});

Deno.test("user with supplementary groups, userns and allow_new_privs become container settings", () => {
  const s = containerFromPolicy(parsePolicy('user = "0:0:5,7"\nallow_new_privs = true\n')).settings;
  assert.deepEqual([s.uid, s.gid, s.groups, s.groupsOptional, s.allowNewPrivs], [0, 0, [5, 7], false, true]);
  const auto = containerFromPolicy(parsePolicy('userns = "auto"\n')).settings;
  assert.deepEqual(auto.uidMaps[0], { container: 0, host: Deno.uid(), count: 1 });
  assert.deepEqual(auto.gidMaps[0], { container: 0, host: Deno.gid(), count: 1 });
  rejects('userns = "keep-id"\n', 1, "userns", /expected "auto"/);
  rejects('userns = "auto"\nuid_maps = [{ container = 0, host = 0 }]\n', 1, "userns", /drop uid_maps/);
  rejects('allow_new_privs = "yes"\n', 1, "allow_new_privs", /expected a boolean/);
});

Deno.test("parsePolicyAsync loads the template engine for an include that needs it; parsePolicy names the async API", async () => {
  const inc = 'hostname = "{{#if (path_exists "/")}}root{{/if}}"\n';
  const read = () => inc;
  const { TemplateEngineNotLoaded } = await import("./template.ts");
  try {
    parsePolicy('include = ["i.toml"]\n', "/p/main.toml", read);
  } catch (e) {
    // Loaded already when another test of this process needed it: then the sync path renders too.
    assert.ok(e instanceof PolicyError && e.cause instanceof TemplateEngineNotLoaded, String(e));
    assert.match(e.message, /^\/p\/i\.toml: template: .*parsePolicyAsync/);
  }
  const p = await parsePolicyAsync('include = ["i.toml"]\n', "/p/main.toml", read);
  assert.equal(p.hostname, "root");
  assert.equal(parsePolicy('include = ["i.toml"]\n', "/p/main.toml", read).hostname, "root");
});
