import assert from "node:assert/strict";
import { Container } from "../container.ts";
import { buildPlan, type HostView } from "../plan/plan.ts";
import { encodeSpec } from "./spec.ts";
import { FLAG, TAG } from "../generated/abi.js";

const host: HostView = { uid: 0, gid: 0, realPath: (p) => p };
const io = { stdio: [0, 1, 2] as [number, number, number], session: "new" as const, setgroups: false };

function records(spec: Uint8Array): { tag: number; len: number }[] {
  const view = new DataView(spec.buffer, spec.byteOffset, spec.byteLength);
  const out = [];
  for (let off = 12; off < spec.length;) {
    const tag = view.getUint16(off, true), len = view.getUint32(off + 4, true);
    out.push({ tag, len });
    off += 8 + len;
  }
  return out;
}

Deno.test("the spec starts with magic, version and its own length, and parses as records", () => {
  const plan = buildPlan(new Container().bindRo("/usr").settings, { program: "ls", args: ["-l"] }, host);
  const spec = encodeSpec(plan, io);
  const view = new DataView(spec.buffer);
  assert.equal(new TextDecoder().decode(spec.subarray(0, 4)), "HKNW");
  assert.equal(view.getUint32(4, true), 3); // HK_SPEC_VERSION 3: tags renumbered for the OCI runtime
  assert.equal(view.getUint32(8, true), spec.length);
  assert.equal(spec.byteOffset, 0); // its own buffer: 8-byte aligned for the decoder
  const tags = records(spec).map((r) => r.tag);
  assert.equal(tags.filter((t) => t === 9).length, 2); // two argv records
  assert.ok(tags.includes(10) && tags.includes(11) && tags.includes(1));
});

Deno.test("strings with NUL bytes cannot be encoded", () => {
  const plan = buildPlan(new Container().settings, { program: "ls", args: ["a\0b"] }, host);
  assert.throws(() => encodeSpec(plan, io), /NUL byte/);
});

Deno.test("a seccomp program and Landlock rules become records", () => {
  const plan = buildPlan(new Container().settings, { program: "ls", args: [] }, host);
  const spec = encodeSpec(plan, {
    ...io,
    seccomp: new Uint8Array(16),
    landlock: { abi: 3, fs: 7n, net: 0n, scoped: 0n, paths: [{ path: "/usr", access: 5n }], ports: [] },
  });
  const tags = records(spec).map((r) => r.tag);
  assert.ok(tags.includes(14) && tags.includes(16) && tags.includes(17));
});

/** The payload's first u32 of each record with `tag`, and (for GROUPS) the gids after it. */
function u32s(spec: Uint8Array, tag: number): number[] {
  const view = new DataView(spec.buffer, spec.byteOffset, spec.byteLength);
  for (let off = 12; off < spec.length;) {
    const t = view.getUint16(off, true), len = view.getUint32(off + 4, true);
    if (t === tag) return Array.from({ length: len / 4 }, (_, i) => view.getUint32(off + 8 + 4 * i, true));
    off += 8 + len;
  }
  return [];
}

Deno.test("groups become one record of gids; allowNewPrivs leaves out the no_new_privs flag", () => {
  const plan = buildPlan(new Container().uid(0).gid(0).groups(10, 27).settings, { program: "id", args: [] }, host);
  const spec = encodeSpec(plan, { ...io, setgroups: true });
  assert.deepEqual(u32s(spec, TAG.GROUPS), [2, 10, 27]);
  assert.equal(u32s(spec, TAG.FLAGS)[0] & FLAG.NO_NEW_PRIVS, FLAG.NO_NEW_PRIVS);
  assert.throws(() => encodeSpec(plan, io), /need setgroups/);
  const none = buildPlan(new Container().uid(0).gid(0).groups().settings, { program: "id", args: [] }, host);
  assert.deepEqual(u32s(encodeSpec(none, { ...io, setgroups: true }), TAG.GROUPS), []);
  const lax = buildPlan(new Container().allowNewPrivs().settings, { program: "id", args: [] }, host);
  assert.equal(u32s(encodeSpec(lax, io), TAG.FLAGS)[0] & FLAG.NO_NEW_PRIVS, 0);
});

Deno.test("an allow list: the proxy's socket bound last, then the bridge record; none without the socket", () => {
  const plan = buildPlan(new Container().allowNet("registry.test:443").settings, { program: "ls", args: [] }, host);
  assert.throws(() => encodeSpec(plan, io), /needs the proxy's socket/);
  const spec = encodeSpec(plan, { ...io, netSocket: "/tmp/hakoniwa-net-x/net.sock" });
  const tags = records(spec).map((r) => r.tag);
  const lastMount = tags.lastIndexOf(TAG.MOUNT);
  assert.equal(tags[lastMount + 1], TAG.NET_RELAY);
  assert.equal(u32s(spec, TAG.NET_RELAY)[0], 3128);
  const text = new TextDecoder().decode(spec);
  assert.ok(text.indexOf("/tmp/hakoniwa-net-x/net.sock") < text.lastIndexOf("/run/hakoniwa/net.sock"));
  const without = encodeSpec(buildPlan(new Container().settings, { program: "ls", args: [] }, host), io);
  assert.ok(!records(without).some((r) => r.tag === TAG.NET_RELAY));
});
