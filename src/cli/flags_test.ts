// Unit tests of the flag table: value parsers, the argv scan against the parser, and how flags apply to a container.
import assert from "node:assert/strict";
import { buildApplication, buildCommand, type FlagParametersForType, run } from "@stricli/core";
import { Container } from "../container.ts";
import { argumentError, collectFlags, parserFlags, scanArgs } from "./args.ts";
import { applyFlags, EXPLAIN_FLAGS, type FlagSpec, parseBind, parseIdMap, RUN_FLAGS, SANDBOX_FLAGS } from "./flags.ts";
import { completionScript } from "./completion.ts";

/** Parses `args` the way `run`/`explain` do: the scan, then the parser, then the merge. */
async function parse(table: readonly FlagSpec[], args: string[]) {
  const scan = scanArgs(table, args);
  let got: { parsed: Record<string, unknown>; command: string[] } | undefined;
  const errors: string[] = [];
  const app = buildApplication(
    buildCommand({
      func: (parsed: Record<string, unknown>, ...command: string[]) => void (got = { parsed, command }),
      parameters: {
        flags: parserFlags(table).flags as unknown as FlagParametersForType<Record<string, unknown>>,
        aliases: parserFlags(table).aliases,
        positional: { kind: "array", parameter: { brief: "command", parse: String } },
      },
      docs: { brief: "test" },
    }),
    {
      name: "t",
      scanner: { allowArgumentEscapeSequence: true },
      localization: {
        text: { ...(await import("@stricli/core")).text_en, exceptionWhileParsingArguments: argumentError },
      },
    },
  );
  const context = { process: { stdout: { write() {} }, stderr: { write: (s: string) => void errors.push(s) } } };
  await run(app, scan.parserArgs, context);
  if (!got) throw new Error(errors[0].trim());
  return { scan, ...collectFlags(table, scan, got.parsed, got.command) };
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

Deno.test("the scan finds the command: after --, or at the first word that is not a flag or a flag's value", () => {
  const s = scanArgs(RUN_FLAGS, ["-vv", "-b/etc", "-e", "A=1", "--hostname=h", "ls", "-l", "--", "x"]);
  assert.deepEqual(s.order, ["verbose", "verbose", "bindmount-ro", "setenv", "hostname"]);
  assert.deepEqual(s.command, ["ls", "-l", "--", "x"]);
  assert.deepEqual(s.parserArgs, ["-vv", "-b", "/etc", "-e", "A=1", "--hostname=h", "--", "ls", "-l", "--", "x"]);
  assert.deepEqual(scanArgs(RUN_FLAGS, ["-vb", "/x", "--", "--help"]).parserArgs, ["-v", "-b", "/x", "--", "--help"]);
  assert.deepEqual(scanArgs(RUN_FLAGS, ["--no-such", "a"]).command, ["a"], "an unknown flag is left to the parser");
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

Deno.test("--rootfs none drops binds; --rootfs DIR binds its system directories", async () => {
  for (const [value, expected] of [["none", []], ["/srv/r", ["/srv/r/bin", "/srv/r/etc", "/srv/r/lib"]]] as const) {
    const { flags, state } = await parse(SANDBOX_FLAGS, ["--rootfs", value]);
    const c = Container.empty().bindRo("/usr").tmpfs("/tmp");
    applyFlags(c, flags, state);
    const sources = c.settings.mounts.flatMap((m) => (m.kind === "bind" ? [m.source] : []));
    assert.deepEqual(sources.slice(0, expected.length), [...expected]);
    assert.ok(c.settings.mounts.some((m) => m.kind === "tmpfs"));
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
