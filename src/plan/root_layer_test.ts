import assert from "node:assert/strict";
import { buildPlan, type HostView, type MountOp } from "./plan.ts";
import { Container } from "../container.ts";
import { needsLayer } from "./root_layer.ts";

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
