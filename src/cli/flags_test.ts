// Unit tests of flag value parsers and how flags apply to a container.
import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { Container } from "../container.ts";
import { addSandboxFlags, applyFlags, newFlagState, parseBind, parseIdMap, type SandboxFlags } from "./flags.ts";

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

Deno.test("flags apply in command-line order on top of the container", () => {
  const state = newFlagState();
  const cmd = addSandboxFlags(new Command("t").exitOverride(), state);
  cmd.parse(
    [
      "--tmpfs",
      "/a",
      "-b",
      "/etc:/e",
      "--dir",
      "/d:1777",
      "--symlink",
      "/x:/l",
      "--unshare-all",
      "--share-net",
      "-e",
      "A=1",
    ],
    { from: "user" },
  );
  const c = Container.empty().bindRo("/usr");
  applyFlags(c, cmd.opts() as SandboxFlags, state);
  assert.deepEqual(c.settings.mounts.map((m) => `${m.kind}:${m.target}`), [
    "bind:/usr",
    "tmpfs:/a",
    "bind:/e",
    "dir:/d",
    "symlink:/l",
  ]);
  assert.equal((c.settings.mounts[3] as { mode: number }).mode, 0o1777);
  assert.deepEqual([...c.settings.unshare].sort(), ["cgroup", "ipc", "mount", "pid", "user", "uts"]);
  assert.equal(c.settings.env.get("A"), "1");
});

Deno.test("--rootfs none drops binds; --rootfs DIR binds its system directories", () => {
  for (const [value, expected] of [["none", []], ["/srv/r", ["/srv/r/bin", "/srv/r/etc", "/srv/r/lib"]]] as const) {
    const state = newFlagState();
    const cmd = addSandboxFlags(new Command("t").exitOverride(), state);
    cmd.parse(["--rootfs", value], { from: "user" });
    const c = Container.empty().bindRo("/usr").tmpfs("/tmp");
    applyFlags(c, cmd.opts() as SandboxFlags, state);
    const sources = c.settings.mounts.flatMap((m) => (m.kind === "bind" ? [m.source] : []));
    assert.deepEqual(sources.slice(0, expected.length), [...expected]);
    assert.ok(c.settings.mounts.some((m) => m.kind === "tmpfs"));
  }
});
