// Unit tests of the supplementary groups a plan carries: mapped, settable, at most 64.
import assert from "node:assert/strict";
import { Container } from "../container.ts";
import { checkGroups, planGroups, sandboxCanSetgroups } from "./groups.ts";
import { buildPlan, type HostView } from "./plan.ts";

const own = [{ container: 0, host: 1000, count: 1 }];
const sub = [...own, { container: 1, host: 100000, count: 65536 }];
const user = { uid: 1000, gid: 1000, inside: 0 };

Deno.test("setgroups is possible for root (unless its namespace denies it) and under a newgidmap map only", () => {
  assert.equal(sandboxCanSetgroups({ ...user, gidMap: own }), false);
  assert.equal(sandboxCanSetgroups({ ...user, gidMap: sub }), true);
  assert.equal(sandboxCanSetgroups({ uid: 0, gid: 0, inside: 0, gidMap: [{ container: 0, host: 0, count: 1 }] }), true);
  assert.equal(sandboxCanSetgroups({ uid: 0, gid: 0, inside: 0, setgroups: false, gidMap: own }), false);
});

Deno.test("a list that cannot be set is an error, implied groups are dropped with a warning, unmapped gids fail", () => {
  assert.equal(planGroups(undefined, false, { ...user, gidMap: own }), null);
  assert.deepEqual(planGroups([], false, { ...user, gidMap: own }), []);
  assert.throws(() => planGroups([10], false, { ...user, gidMap: own }), /needs setgroups.*--userns auto/);
  const warned: string[] = [];
  assert.equal(planGroups([0, 10], true, { ...user, gidMap: own }, (m) => warned.push(m)), null);
  assert.match(warned[0], /gids 0, 10\) are not set/);
  assert.equal(planGroups([0], true, { ...user, gidMap: own }, (m) => warned.push(m)), null);
  assert.equal(warned.length, 1, "the own gid alone is no loss worth a warning");
  assert.deepEqual(planGroups([10, 27], false, { ...user, gidMap: sub }), [10, 27]);
  assert.throws(() => planGroups([10, 70000, 80000], false, { ...user, gidMap: sub }), /gids 70000, 80000 are not in/);
  assert.throws(() => checkGroups("groups", Array.from({ length: 65 }, (_, i) => i)), /at most 64/);
  assert.throws(() => checkGroups("groups", [-1]), /expected gids/);
});

Deno.test("the plan carries the groups; as root each one is mapped to itself; the library checks at once", () => {
  const root: HostView = { uid: 0, gid: 0, realPath: (p) => p };
  const plan = buildPlan(new Container().uid(0).gid(0).groups(10, 27).settings, { program: "id", args: [] }, root);
  assert.deepEqual(plan.groups, [10, 27]);
  assert.deepEqual(plan.gidMap, [
    { container: 0, host: 0, count: 1 },
    { container: 10, host: 10, count: 1 },
    { container: 27, host: 27, count: 1 },
  ]);
  assert.equal(buildPlan(new Container().settings, { program: "id", args: [] }, root).groups, null);
  const me: HostView = { uid: 1000, gid: 1000, realPath: (p) => p };
  assert.throws(
    () => buildPlan(new Container().groups(5).settings, { program: "id", args: [] }, me),
    /needs setgroups/,
  );
  assert.throws(() => new Container().groups(...Array.from({ length: 65 }, (_, i) => i)), /at most 64/);
});
