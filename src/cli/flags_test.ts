// Unit tests of the flag table: value parsers, the argv scan against the parser, and how flags apply to a container.
import assert from "node:assert/strict";
import { Container } from "../container.ts";
import { parseSandboxArgs } from "./parse.ts";
import { applyFlags, EXPLAIN_FLAGS, type FlagSpec, parseBind, parseIdMap, RUN_FLAGS, SANDBOX_FLAGS } from "./flags.ts";
import { completionScript } from "./completion.ts";

/** Parses `args` the way `run`/`explain` do (async as the callers of the tests below are). */
// deno-lint-ignore require-await
async function parse(table: readonly FlagSpec[], args: string[]) {
  const p = parseSandboxArgs(table, args);
  if (p.help) throw new Error("help asked");
  return p;
}

Deno.test("parseBind: SRC[:DST] with backslash escapes", () => {
  assert.deepEqual(parseBind("-b")("/a"), { source: "/a", target: "/a" });
  assert.deepEqual(parseBind("-b")("/a\\:b:/c"), { source: "/a:b", target: "/c" });
  assert.throws(() => parseBind("-b")("/a:/b:/c"), /-b: expected SRC\[:DST\]/);
  assert.throws(() => parseBind("-b")("/a:"), /expected SRC/);
});

Deno.test("parseIdMap: C[:H[:N]] with the caller's id and a count of 1 by default", () => {
  const p = parseIdMap("--uidmap", 1000);
  assert.deepEqual(p("0"), { container: 0, host: 1000, count: 1 });
  assert.deepEqual(p("0:100000"), { container: 0, host: 100000, count: 1 });
  assert.deepEqual(p("1:100000:65536"), { container: 1, host: 100000, count: 65536 });
  for (const bad of ["", "x", "0:1:0", "0:1:2:3", "4294967295", "4294967290:0:10", "-1"]) {
    assert.throws(() => p(bad), /--uidmap: expected CONTAINER\[:HOST\[:COUNT\]\]/, bad);
  }
});

Deno.test("the command starts after --, or at the first word that is not a flag or a flag's value", async () => {
  const p = await parse(RUN_FLAGS, ["-vv", "-b/etc", "-e", "A=1", "--hostname=h", "ls", "-l", "--", "x"]);
  assert.equal(p.flags.verbose, 2);
  assert.deepEqual(p.state.mounts.map((m) => m.target), ["/etc"]);
  assert.deepEqual(p.state.env, [["A", "1"]]);
  assert.equal(p.flags.hostname, "h");
  assert.deepEqual(p.command, ["ls", "-l", "--", "x"]);
  assert.deepEqual((await parse(RUN_FLAGS, ["-vb", "/x", "--", "--help"])).command, ["--help"]);
  assert.deepEqual((await parse(RUN_FLAGS, ["-b=/x", "-b/y", "true"])).state.mounts.map((m) => m.target), ["/x", "/y"]);
  assert.deepEqual(parseSandboxArgs(RUN_FLAGS, ["-b", "/x", "--help", "true"]), { help: true });
  assert.deepEqual(parseSandboxArgs(RUN_FLAGS, ["-vh"]), { help: true });
});

Deno.test("flags apply in command-line order on top of the container", async () => {
  const { flags, state } = await parse(SANDBOX_FLAGS, [
    ...["--tmpfs", "/a", "-b", "/etc:/e", "--dir", "/d:1777", "--symlink", "/x:/l", "--ro-bind", "/srv:/s"],
    ...["--unshare-all", "--share-net", "-e", "A=1", "--setenv", "B=2", "--chdir", "/a", "--", "true"],
  ]);
  const c = Container.empty().bindRo("/usr");
  applyFlags(c, flags, state);
  assert.deepEqual(c.settings.mounts.map((m) => `${m.kind}:${m.target}`), [
    "bind:/usr",
    "tmpfs:/a",
    "bind:/e",
    "dir:/d",
    "symlink:/l",
    "bind:/s",
  ]);
  assert.equal((c.settings.mounts[3] as { mode: number }).mode, 0o1777);
  assert.deepEqual([...c.settings.unshare].sort(), ["cgroup", "ipc", "mount", "pid", "user", "uts"]);
  assert.deepEqual([...c.settings.env], [["A", "1"], ["B", "2"]]);
  assert.equal(c.settings.workdir, "/a");
});

Deno.test("-w DIR binds DIR unless another flag mounts something there; --chdir binds nothing", async () => {
  const other = await parse(SANDBOX_FLAGS, ["-B", "/tmp:/work", "-w", "/work", "--", "make"]);
  const c = Container.empty();
  applyFlags(c, other.flags, other.state);
  assert.deepEqual(c.settings.mounts.map((m) => `${m.kind}:${m.target}`), ["bind:/work"]);
  assert.equal(c.settings.workdir, "/work");
  const alone = await parse(SANDBOX_FLAGS, ["-w", "/srv", "--", "make"]);
  const d = Container.empty();
  applyFlags(d, alone.flags, alone.state);
  assert.deepEqual(d.settings.mounts.map((m) => m.kind === "bind" && `${m.source}:${m.target}`), ["/srv:/srv"]);
  await assert.rejects(() => parse(SANDBOX_FLAGS, ["--chdir", "rel", "--", "true"]), /--chdir: expected an absolute/);
});

Deno.test("--rootfs none drops binds; --rootfs DIR binds its system directories, a symlink stays one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const d of ["bin", "etc", "usr", "home"]) await Deno.mkdir(`${dir}/${d}`);
    await Deno.symlink("usr/lib", `${dir}/lib`);
    for (const [value, expected] of [["none", []], [dir, [`${dir}/bin`, `${dir}/etc`, `${dir}/usr`]]] as const) {
      const { flags, state } = await parse(SANDBOX_FLAGS, ["--rootfs", value]);
      const c = Container.empty().bindRo("/srv").tmpfs("/tmp");
      applyFlags(c, flags, state);
      const sources = c.settings.mounts.flatMap((m) => (m.kind === "bind" ? [m.source] : []));
      assert.deepEqual(sources, [...expected], "the policy's /srv dropped; home is no system directory");
      assert.ok(c.settings.mounts.some((m) => m.kind === "tmpfs"));
      if (value !== "none") {
        assert.ok(
          c.settings.mounts.some((m) => m.kind === "symlink" && m.original === "usr/lib" && m.target === "/lib"),
        );
      }
    }
    const { flags, state } = await parse(SANDBOX_FLAGS, ["--rootfs", `${dir}/nope`]);
    assert.throws(
      () => applyFlags(Container.empty(), flags, state),
      new RegExp(`^UsageError: --rootfs: cannot use ${dir}/nope: no such file or directory$`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the parser's complaints are one line each, in our words", async () => {
  const cases: [string[], RegExp][] = [
    [["--jsno"], /^unknown flag --jsno; did you mean --json\?$/],
    [["--hostname", "a", "--hostname", "b"], /^--hostname is given twice \("a", then "b"\)$/],
    [["--limit-cpu", "x"], /^--limit-cpu: expected a whole number, got "x"$/],
    [["--tmpfs"], /^--tmpfs: expected a value$/],
    [["-q"], /^unknown flag -q$/],
    [["--1", "--", "x"], /^unknown flag --1$/],
    [["--tmpfs", "--ro-bind", "/x"], /^--tmpfs: expected a value, got --ro-bind$/],
    [["--tmpfs", "--", "x"], /^--tmpfs: expected a value$/],
    [["--json", "--json"], /^--json is given twice$/],
    [["--json=1"], /^--json: takes no value$/],
    [["-b"], /^--bindmount-ro: expected a value$/],
  ];
  for (const [args, re] of cases) {
    await assert.rejects(() => parse(EXPLAIN_FLAGS, args), (e: Error) => re.test(e.message), args.join(" "));
  }
});

Deno.test("the bash completion has a case arm only for flags that exist", () => {
  const script = completionScript([{ name: "check", brief: "check", flags: [], words: "files" }], "bash");
  assert.doesNotMatch(script, /no-such-flag|case "\$prev"/);
  assert.match(
    completionScript([{ name: "run", brief: "run", flags: RUN_FLAGS, words: "files" }], "bash"),
    /--ro-bind\|/,
  );
});

Deno.test("1.x forms: --workdir and -w :PATH (run there, bind nothing), -e NAME unset, landlock paths with commas", async () => {
  const only = await parse(SANDBOX_FLAGS, ["-B", "/srv:/mytmp", "--workdir", ":/mytmp", "--", "pwd"]);
  const c = Container.empty();
  applyFlags(c, only.flags, only.state);
  assert.equal(c.settings.workdir, "/mytmp");
  assert.deepEqual(c.settings.mounts.map((m) => m.target), ["/mytmp"], "no bind of its own");
  const long = await parse(SANDBOX_FLAGS, ["--workdir", "/srv/./app/", "--", "pwd"]);
  const d = Container.empty();
  applyFlags(d, long.flags, long.state);
  assert.deepEqual(d.settings.mounts.map((m) => m.kind === "bind" && [m.source, m.target, m.readonly]), [[
    "/srv/app",
    "/srv/app",
    false,
  ]]);
  assert.equal(d.settings.workdir, "/srv/app");
  const both = await parse(SANDBOX_FLAGS, ["-w", "/a", "--workdir", "/b", "--", "pwd"]);
  assert.throws(() => applyFlags(Container.empty(), both.flags, both.state), /give it once/);
  await assert.rejects(() => parse(SANDBOX_FLAGS, ["--workdir", ":rel", "--", "pwd"]), /expected an absolute path/);

  const unset = "HAKONIWA_TEST_SURELY_UNSET_VARIABLE";
  const env = await parse(SANDBOX_FLAGS, ["-e", unset, "--", "env"]);
  assert.deepEqual(env.state.env, [[unset, ""]]);

  const ll = await parse(SANDBOX_FLAGS, ["--landlock-fs-rx", "/bin,/lib:/usr", "--landlock-fs-ro", "/etc", "--", "ls"]);
  const e = Container.empty();
  applyFlags(e, ll.flags, ll.state);
  assert.deepEqual(e.settings.landlock?.paths.map((p) => p.path), ["/etc", "/bin", "/lib", "/usr"]);
});

Deno.test("--rootfs DIR relative to the caller's directory", async () => {
  const { flags } = await parse(SANDBOX_FLAGS, ["--rootfs", "tests/fixtures/rootfs"]);
  assert.equal(flags.rootfs, `${Deno.cwd()}/tests/fixtures/rootfs`);
});
