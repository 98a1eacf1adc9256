import assert from "node:assert/strict";
import { type CgroupHost, resolveCgroups } from "./cgroup.ts";

/** A host with these mounts, cgroup lines and files (path -> text; dirs map to their owner uid). */
function fakeHost(
  uid: number,
  mountinfo: string[],
  cgroup: string[],
  files: Record<string, string>,
  dirs: Record<string, number>,
): CgroupHost {
  return {
    uid,
    mountinfo: mountinfo.map((m, i) => `${30 + i} 25 0:${40 + i} ${m}`).join("\n"),
    cgroup: cgroup.join("\n"),
    read: (p) => files[p] ?? null,
    owner: (p) => dirs[p] ?? null,
  };
}

const V1 = [
  "/ /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "/ /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct",
  "/ /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
  "/ /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset",
];
const V1_SELF = ["4:memory:/svc/a", "3:cpu,cpuacct:/svc", "2:pids:/", "1:cpuset:/"];

Deno.test("cgroup v1 as root: beneath the caller's own cgroup in each hierarchy, limits where their controller is", () => {
  const dirs = {
    "/sys/fs/cgroup/memory/svc/a": 0,
    "/sys/fs/cgroup/cpu,cpuacct/svc": 0,
    "/sys/fs/cgroup/pids": 0,
    "/sys/fs/cgroup/cpuset": 0,
  };
  const files = {
    "/sys/fs/cgroup/memory/svc/a/memory.memsw.limit_in_bytes": "9223372036854771712\n",
    "/sys/fs/cgroup/cpuset/cpuset.cpus": "0-1\n",
    "/sys/fs/cgroup/cpuset/cpuset.mems": "0\n",
  };
  const setup = resolveCgroups({ memory: 64 << 20, cpus: 0.5, pids: 10 }, fakeHost(0, V1, V1_SELF, files, dirs));
  assert.deepEqual(setup.parents, [
    "/sys/fs/cgroup/memory/svc/a",
    "/sys/fs/cgroup/cpu,cpuacct/svc",
    "/sys/fs/cgroup/pids",
    "/sys/fs/cgroup/cpuset",
  ]);
  assert.deepEqual(setup.sets, [
    { index: 0, file: "memory.limit_in_bytes", value: "67108864" },
    { index: 0, file: "memory.memsw.limit_in_bytes", value: "67108864" },
    { index: 1, file: "cpu.cfs_period_us", value: "100000" },
    { index: 1, file: "cpu.cfs_quota_us", value: "50000" },
    { index: 2, file: "pids.max", value: "11" },
    { index: 3, file: "cpuset.cpus", value: "0-1" },
    { index: 3, file: "cpuset.mems", value: "0" },
  ]);
});

Deno.test("cgroup v1 unprivileged: a relative parent beneath the caller's own, refused where not delegated", () => {
  const host = (owner: number) =>
    fakeHost(1000, V1, V1_SELF, {}, {
      "/sys/fs/cgroup/memory/svc/a/box": owner,
      "/sys/fs/cgroup/cpu,cpuacct/svc/box": owner,
    });
  const setup = resolveCgroups({ memory: 1 << 30, parent: "box" }, host(1000));
  assert.deepEqual(setup.parents, ["/sys/fs/cgroup/memory/svc/a/box", "/sys/fs/cgroup/cpu,cpuacct/svc/box"]);
  assert.throws(
    () => resolveCgroups({ memory: 1 << 30, parent: "box" }, host(0)),
    /\/sys\/fs\/cgroup\/memory\/svc\/a\/box is not delegated to uid 1000: run under a delegated cgroup/,
  );
  assert.throws(
    () => resolveCgroups({ pids: 5, parent: "/nope" }, host(1000)),
    /\/sys\/fs\/cgroup\/pids\/nope does not exist/,
  );
});

const V2 = ["/ /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"];

Deno.test("cgroup v2: memory.max with swap off, cpu.max, pids.max in the caller's delegated cgroup", () => {
  const dir = "/sys/fs/cgroup/user.slice/user-1000.slice/app.scope/box";
  const files = {
    [`${dir}/cgroup.subtree_control`]: "cpu memory pids\n",
    [`${dir}/memory.swap.max`]: "max\n",
  };
  const host = fakeHost(1000, V2, ["0::/user.slice/user-1000.slice/app.scope"], files, { [dir]: 1000 });
  const setup = resolveCgroups({ memory: 256 << 20, cpus: 2, pids: 100, parent: "box" }, host);
  assert.deepEqual(setup.parents, [dir]);
  assert.deepEqual(setup.sets, [
    { index: 0, file: "memory.max", value: "268435456" },
    { index: 0, file: "memory.swap.max", value: "0" },
    { index: 0, file: "cpu.max", value: "200000 100000" },
    { index: 0, file: "pids.max", value: "101" },
  ]);
});

Deno.test("cgroup v2: a controller not enabled for children is named with the remedy; none at all is refused", () => {
  const dir = "/sys/fs/cgroup/app.scope";
  const host = (controllers: string) =>
    fakeHost(0, V2, ["0::/app.scope"], {
      [`${dir}/cgroup.subtree_control`]: "pids\n",
      [`${dir}/cgroup.controllers`]: controllers,
    }, { [dir]: 0 });
  assert.throws(
    () => resolveCgroups({ memory: 1 << 30 }, host("memory pids")),
    /echo \+memory > \/sys\/fs\/cgroup\/app\.scope\/cgroup\.subtree_control/,
  );
  assert.throws(() => resolveCgroups({ memory: 1 << 30 }, host("pids")), /no memory controller is available/);
  assert.throws(
    () => resolveCgroups({ memory: 1 << 30 }, fakeHost(0, [], [], {}, {})),
    /no cgroup hierarchy has the memory controller/,
  );
});
