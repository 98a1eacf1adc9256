import assert from "node:assert/strict";
import { Container } from "../container.ts";
import { UsageError } from "../common/errors.ts";
import { buildPlan, devfsOps, type HostView, sandboxPath } from "./plan.ts";
import { seedProfile } from "../seccomp/profile.ts";

const host: HostView = {
  uid: 1000,
  gid: 100,
  realPath: (p) => (p === "/missing" ? null : p === "/bin" ? "/usr/bin" : p),
};

Deno.test("sandboxPath normalizes and rejects what cannot be a sandbox path", () => {
  assert.equal(sandboxPath("/a//b/./c/", "x"), "/a/b/c");
  assert.equal(sandboxPath("/", "x"), "/");
  assert.throws(() => sandboxPath("a/b", "bind target"), /bind target: expected an absolute path/);
  assert.throws(() => sandboxPath("/a/../b", "x"), /'\.\.' is not allowed/);
  assert.throws(() => sandboxPath("/a\0b", "x"), UsageError);
});

Deno.test("the default container maps the caller's ids to themselves and unshares everything", () => {
  const plan = buildPlan(new Container().settings, { program: "true", args: [] }, host);
  assert.deepEqual(plan.uidMap, [{ container: 1000, host: 1000, count: 1 }]);
  assert.deepEqual(plan.gidMap, [{ container: 100, host: 100, count: 1 }]);
  assert.deepEqual(plan.namespaces, ["user", "mount", "pid", "ipc", "uts", "network", "cgroup"]);
  assert.equal(plan.loopback, true);
  assert.deepEqual(plan.argv, ["true"]);
  assert.equal(plan.cwd, "/");
  assert.equal(plan.root.readonly, true);
});

Deno.test("--uid chooses the id inside, still mapped to the caller's", () => {
  const plan = buildPlan(new Container().uid(0).gid(0).settings, { program: "id", args: [] }, host);
  assert.deepEqual(plan.uidMap, [{ container: 0, host: 1000, count: 1 }]);
  assert.equal(plan.uid, 0);
});

Deno.test("as root, an id other than 0 inside is the same id outside, never host root", () => {
  const root: HostView = { ...host, uid: 0, gid: 0 };
  const plan = buildPlan(new Container().uid(65534).gid(65534).settings, { program: "id", args: [] }, root);
  assert.deepEqual(plan.uidMap, [{ container: 0, host: 0, count: 1 }, { container: 65534, host: 65534, count: 1 }]);
  assert.deepEqual(plan.gidMap, [{ container: 0, host: 0, count: 1 }, { container: 65534, host: 65534, count: 1 }]);
  const own = buildPlan(new Container().settings, { program: "id", args: [] }, root);
  assert.deepEqual(own.uidMap, [{ container: 0, host: 0, count: 1 }]);
});

Deno.test("every plan has a seccomp profile; without one, the unconfined one (the guard alone)", () => {
  const plan = buildPlan(new Container().seccomp(null).settings, { program: "id", args: [] }, host);
  assert.equal(plan.seccomp?.name, "unconfined");
});

Deno.test("bind sources are resolved; a missing optional source is skipped with a log line", () => {
  const c = Container.empty().bindRo("/bin");
  c.settings.mounts.push({ kind: "bind", source: "/missing", target: "/m", readonly: true, optional: true });
  const logged: string[] = [];
  const plan = buildPlan(c.settings, { program: "ls", args: [] }, host, (m) => logged.push(m));
  assert.deepEqual(plan.mounts, [{ kind: "bind", source: "/usr/bin", target: "/bin", readonly: true }]);
  assert.match(logged[0], /"\/missing" does not exist, skipped/);
});

Deno.test("a missing required bind source is left for the core to report", () => {
  const plan = buildPlan(Container.empty().bindRw("/missing").settings, { program: "ls", args: [] }, host);
  assert.deepEqual(plan.mounts, [{ kind: "bind", source: "/missing", target: "/missing", readonly: false }]);
});

Deno.test("a later mount on the same target replaces the earlier one, with its whole expansion", () => {
  const c = Container.empty().bindRo("/usr").tmpfs("/usr/").devfs("/dev").procfs("/proc").tmpfs("/dev")
    .bindRw("/proc", "/proc").bindRw("/dev/null", "/dev/null");
  const plan = buildPlan(c.settings, { program: "ls", args: [] }, host);
  assert.deepEqual(plan.mounts.map((m) => [m.kind, m.target]), [
    ["tmpfs", "/usr"],
    ["tmpfs", "/dev"],
    ["bind", "/proc"],
    ["bind", "/dev/null"],
  ]);
});

Deno.test("an explicit bind over a path a devfs filled replaces that device bind only", () => {
  const c = Container.empty().devfs("/dev").bindRo("/usr/bin", "/dev/null");
  const ops = buildPlan(c.settings, { program: "ls", args: [] }, host).mounts;
  assert.deepEqual(ops.filter((m) => m.target === "/dev/null"), [
    { kind: "bind", source: "/usr/bin", target: "/dev/null", readonly: true },
  ]);
  assert.equal(ops.filter((m) => m.kind === "bind").length, 6, "the other five devices stay");
});

Deno.test("devfs expands to a tmpfs, device binds and links", () => {
  const ops = devfsOps("/dev");
  assert.equal(ops[0].kind, "tmpfs");
  const binds = ops.filter((o) => o.kind === "bind").map((o) => o.target);
  assert.deepEqual(binds, ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
  assert.ok(ops.some((o) => o.kind === "symlink" && o.target === "/dev/fd" && o.original === "/proc/self/fd"));
});

Deno.test("PATH of the command's environment is the search path", () => {
  const plan = buildPlan(new Container().env("PATH", "/opt/bin").settings, { program: "x", args: [] }, host);
  assert.equal(plan.searchPath, "/opt/bin");
});

Deno.test("ids outside an explicit map are rejected", () => {
  const c = new Container().uidMap(0, 1000, 1).uid(5);
  assert.throws(() => buildPlan(c.settings, { program: "x", args: [] }, host), /uid 5 is not in the uid map/);
});

Deno.test("a bind whose source is a character device keeps the device usable (no nodev), on a read-only mount", () => {
  const devHost: HostView = { ...host, isCharDevice: (p) => p === "/dev/null" };
  const plan = buildPlan(Container.empty().bindRw("/dev/null", "/mydev/null").bindRo("/usr").settings, {
    program: "ls",
    args: [],
  }, devHost);
  assert.deepEqual(plan.mounts, [
    { kind: "bind", source: "/dev/null", target: "/mydev/null", readonly: true, dev: true },
    { kind: "bind", source: "/usr", target: "/usr", readonly: true },
  ]);
});

Deno.test("a missing bind source that asks for a warning is skipped with a warning line", () => {
  const c = Container.empty();
  c.settings.mounts.push({ kind: "bind", source: "/missing", target: "/m", readonly: true, optional: "warn" });
  const logged: [string, string][] = [];
  const plan = buildPlan(c.settings, { program: "ls", args: [] }, host, (m, level) => logged.push([level, m]));
  assert.deepEqual(plan.mounts, []);
  assert.equal(logged.length, 1);
  assert.equal(logged[0][0], "warning");
  assert.match(logged[0][1], /^bind source "\/missing" \(target "\/m"\) does not exist: skipped/);
});

Deno.test("allowNewPrivs: a profile that may refuse what the setup calls under its filter is refused when planned", () => {
  const strictList = Container.empty().seccomp(seedProfile(["read", "write", "execve", "exit_group"], "kill_process"));
  assert.throws(
    () => buildPlan(strictList.allowNewPrivs().settings, { program: "true", args: [] }, host),
    /allowNewPrivs: the seccomp profile "policy allowlist [^"]*" may refuse prctl, capset, setgroups, setresgid, setresuid/,
  );
  const plan = buildPlan(new Container().allowNewPrivs().settings, { program: "true", args: [] }, host);
  assert.equal(plan.allowNewPrivs, true);
  assert.equal(buildPlan(new Container().settings, { program: "true", args: [] }, host).allowNewPrivs, false);
});

Deno.test("a directory is 0700 unless told, as 1.x's --dir: library, policy and flag alike", () => {
  const plan = buildPlan(Container.empty().dir("/a").dir("/b", 0o755).settings, { program: "ls", args: [] }, host);
  assert.deepEqual(plan.mounts, [
    { kind: "dir", target: "/a", mode: 0o700 },
    { kind: "dir", target: "/b", mode: 0o755 },
  ]);
});
