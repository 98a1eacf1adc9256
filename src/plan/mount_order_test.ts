import assert from "node:assert/strict";
import type { ContainerMount } from "./types.ts";
import { parentsFirst } from "./mount_order.ts";

const bind = (target: string): ContainerMount => ({ kind: "bind", source: `/src${target}`, target, readonly: true });

Deno.test("parentsFirst: 1.x's nested case comes out parents first", () => {
  const order = parentsFirst([bind("/a1/b1/c1"), bind("/a1"), bind("/a1/b1/c2"), bind("/a1/b1")]);
  assert.deepEqual(order.map((m) => m.target), ["/a1", "/a1/b1", "/a1/b1/c1", "/a1/b1/c2"]);
});

Deno.test("parentsFirst: unrelated mounts keep the order given; a prefix that is no parent does not count", () => {
  const given = [bind("/b"), { kind: "tmpfs", target: "/tmp" } as ContainerMount, bind("/a"), bind("/ab/c")];
  assert.deepEqual(parentsFirst(given), given);
  const dir: ContainerMount = { kind: "dir", target: "/tmp/x/" };
  assert.deepEqual(parentsFirst([dir, { kind: "tmpfs", target: "/tmp" }]).map((m) => m.kind), ["tmpfs", "dir"]);
  assert.deepEqual(parentsFirst([bind("/x"), bind("/")]).map((m) => m.target), ["/", "/x"], "/ is everyone's parent");
});
