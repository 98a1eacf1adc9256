import assert from "node:assert/strict";
import { buildPlan, type HostView, type MountOp } from "./plan.ts";
import { Container } from "../container.ts";
import { layersNeeded, needsLayer } from "./root_layer.ts";

/** A host whose only paths are these (resolved as themselves), plus links: path -> where it leads. */
function host(paths: string[], links: Record<string, string> = {}): HostView {
  return {
    uid: 1000,
    gid: 1000,
    realPath: (p) => links[p] ?? (paths.includes(p) ? p : null),
  };
}

const tmpfs = (target: string): MountOp => ({ kind: "tmpfs", target, size: 0, inodes: 0, mode: 0o1777 });
const bind = (target: string): MountOp => ({ kind: "bind", source: target, target, readonly: true });

Deno.test("needsLayer: no layer when every mount point is there, nothing else made", () => {
  const h = host(["/r", "/r/tmp", "/r/proc", "/r/usr", "/r/d"]);
  const ops: MountOp[] = [
    tmpfs("/tmp"),
    { kind: "proc", target: "/proc" },
    { kind: "readonly", target: "/proc/sys", optional: true },
    bind("/usr"),
    { kind: "dir", target: "/d", mode: 0o755 },
  ];
  assert.equal(needsLayer("/r", ops, h), false);
  assert.equal(needsLayer("/r/", ops, h), false, "a trailing slash on the root");
  assert.equal(needsLayer("/", [bind("/usr")], host(["/usr"])), false, "the host's / as the rootdir");
});

Deno.test("needsLayer: a missing mount point, parent or directory, any file or symlink", () => {
  const h = host(["/r", "/r/usr"]);
  assert.equal(needsLayer("/r", [tmpfs("/tmp")], h), true);
  assert.equal(needsLayer("/r", [bind("/usr/local/x")], h), true, "a missing parent");
  assert.equal(needsLayer("/r", [{ kind: "dir", target: "/new", mode: 0o755 }], h), true);
  assert.equal(needsLayer("/r", [{ kind: "file", target: "/usr", contents: "", mode: 0o644 }], h), true);
  assert.equal(needsLayer("/r", [{ kind: "symlink", original: "usr/bin", target: "/bin" }], h), true);
  const linked = host(["/r", "/r/usr/lib"], { "/r/lib": "/r/usr/lib" });
  assert.equal(needsLayer("/r", [bind("/lib")], linked), true, "a symlink counts as missing");
  const failing: HostView = {
    uid: 1000,
    gid: 1000,
    realPath: (p) => {
      if (p === "/r/secret") throw new Deno.errors.PermissionDenied(p);
      return p === "/r" ? p : null;
    },
  };
  assert.equal(needsLayer("/r", [bind("/secret")], failing), true);
});

Deno.test("needsLayer: what lies beneath an earlier mount is made there, not in the rootdir", () => {
  const h = host(["/r", "/r/tmp", "/r/dev"]);
  const ops: MountOp[] = [
    tmpfs("/dev"),
    bind("/dev/null"),
    { kind: "symlink", original: "/proc/self/fd", target: "/dev/fd" },
    tmpfs("/tmp"),
    { kind: "dir", target: "/tmp/a/b", mode: 0o755 },
    { kind: "file", target: "/tmp/a/f", contents: "x", mode: 0o644 },
  ];
  assert.equal(needsLayer("/r", ops, h), false);
  assert.equal(needsLayer("/r", [{ kind: "dir", target: "/tmpx", mode: 0o755 }, tmpfs("/tmp")], h), true);
  assert.equal(needsLayer("/r", [{ kind: "dir", target: "/tmp/a", mode: 0o755 }, tmpfs("/tmp")], h), true, "order");
});

Deno.test("buildPlan: a layer only for a read-only rootdir that lacks something", () => {
  const h = {
    ...host(["/r", "/r/proc", "/r/dev", "/r/tmp", "/proc/sys", "/proc/sysrq-trigger"]),
    isDirectory: () => true,
  };
  const plan = (c: Container) => buildPlan(c.settings, { program: "true", args: [] }, h);
  assert.deepEqual(plan(new Container().rootdir("/r")).root, { source: "/r", readonly: true, layer: false });
  assert.deepEqual(plan(new Container().rootdir("/r").dir("/new")).root, { source: "/r", readonly: true, layer: true });
  assert.deepEqual(plan(new Container().rootdir("/r", { rw: true }).dir("/new")).root, {
    source: "/r",
    readonly: false,
    layer: false,
  });
  assert.deepEqual(plan(new Container().dir("/new")).root, { source: null, readonly: true });
});

Deno.test("layersNeeded: a read-only bind that lacks a later mount point, parent, directory, file or link", () => {
  const h = host(["/s", "/s/share", "/s/share/doc", "/d", "/f"]);
  const at = (target: string, source = "/s"): MountOp => ({ kind: "bind", source, target, readonly: true });
  assert.deepEqual([...layersNeeded(null, [at("/u"), tmpfs("/u/share/doc")], h).binds], [], "all there");
  assert.deepEqual([...layersNeeded(null, [at("/u"), tmpfs("/u/share/new")], h).binds], [0]);
  assert.deepEqual([...layersNeeded(null, [at("/u"), at("/u/x/y", "/d")], h).binds], [0], "a missing parent");
  assert.deepEqual([...layersNeeded(null, [at("/u"), { kind: "symlink", original: "x", target: "/u/l" }], h).binds], [
    0,
  ]);
  assert.deepEqual([...layersNeeded(null, [at("/u"), { kind: "dir", target: "/u/share", mode: 0o700 }], h).binds], []);
  // The innermost mount at the time counts: a tmpfs or a read-write bind in between takes what is made.
  assert.deepEqual([...layersNeeded(null, [at("/u"), tmpfs("/u/share"), tmpfs("/u/share/new")], h).binds], []);
  const rw: MountOp = { kind: "bind", source: "/d", target: "/u/share", readonly: false };
  assert.deepEqual([...layersNeeded(null, [at("/u"), rw, tmpfs("/u/share/new")], h).binds], []);
  // A bind of a file is never layered (nothing can be made in it); a remount makes nothing.
  const file: HostView = { ...h, isDirectory: (p) => p !== "/f" };
  assert.deepEqual([...layersNeeded(null, [at("/u", "/f"), tmpfs("/u/x")], file).binds], []);
  assert.deepEqual(
    [...layersNeeded(null, [at("/u"), { kind: "readonly", target: "/u/x", optional: true }], h).binds],
    [],
  );
  // The rootdir and a bind in it, each for what is made in it.
  const both = layersNeeded("/r", [at("/u"), tmpfs("/u/new"), tmpfs("/t")], host(["/r", "/r/u", "/s"]));
  assert.deepEqual([both.root, [...both.binds]], [true, [0]]);
});

Deno.test("buildPlan: a layer on the read-only bind that a later mount lies in, in parents-first order", () => {
  const h = { ...host(["/s", "/s/share", "/d", "/proc/sys", "/proc/sysrq-trigger"]), isDirectory: () => true };
  const plan = buildPlan(
    Container.empty().bindRo("/d", "/u/share/data").bindRo("/s", "/u").settings,
    { program: "true", args: [] },
    h,
  );
  assert.deepEqual(plan.mounts, [
    { kind: "bind", source: "/s", target: "/u", readonly: true, layer: true },
    { kind: "bind", source: "/d", target: "/u/share/data", readonly: true },
  ]);
});

Deno.test("buildPlan: an optional bind the read-only rootdir lacks a mount point for is skipped only without a layer", () => {
  const h = { ...host(["/r", "/r/bin", "/r/proc", "/bin", "/lib64", "/proc/sys"]), isDirectory: () => true };
  const kiss = () =>
    Container.empty().procfs("/proc").rootdir("/r").bindRo("/bin").bindRo("/lib64", "/lib64", { optional: true });
  const logged: string[] = [];
  const lean = buildPlan(kiss().settings, { program: "ls", args: [] }, h, (m) => logged.push(m));
  assert.equal(lean.root.layer, false, "every other mount point is there");
  assert.ok(!lean.mounts.some((m) => m.target === "/lib64"));
  assert.match(logged.join("\n"), /"\/lib64" is not in the read-only rootdir, skipped/);
  // A rootdir that lacks a mount point anyway (here /tmp) gets the layer, and every bind its mount point on it.
  const layered = buildPlan(kiss().tmpfs("/tmp").settings, { program: "ls", args: [] }, h);
  assert.equal(layered.root.layer, true);
  assert.ok(layered.mounts.some((m) => m.target === "/lib64"));
  // A policy's bind (optional "warn": its source may be missing) is never skipped for its mount point.
  const empty = Container.empty().rootdir("/r");
  empty.settings.mounts.push({ kind: "bind", source: "/lib64", target: "/lib64", readonly: true, optional: "warn" });
  const plan = buildPlan(empty.settings, { program: "ls", args: [] }, h);
  assert.deepEqual([plan.root.layer, plan.mounts.map((m) => m.target)], [true, ["/lib64"]]);
});
