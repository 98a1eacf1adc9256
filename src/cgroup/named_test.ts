import assert from "node:assert/strict";
import { type ControllerFiles, makeNamedCgroup, type NamedCgroupHost } from "./named.ts";

/** A host with these mounts and files; directories made and files written are recorded. */
function fakeHost(uid: number, mountinfo: string[], files: Record<string, string>, dirs: Record<string, number>) {
  const made: string[] = [], written: string[] = [], removed: string[] = [];
  const host: NamedCgroupHost = {
    uid,
    mountinfo: mountinfo.map((m, i) => `${30 + i} 25 0:${40 + i} ${m}`).join("\n"),
    cgroup: "4:memory:/svc\n3:cpu,cpuacct:/svc\n2:pids:/svc\n1:cpuset:/\n0::/svc",
    read: (p) => files[p] ?? null,
    owner: (p) => dirs[p] ?? null,
    mkdir(p) {
      made.push(p);
      dirs[p] = uid;
    },
    write(p, text) {
      written.push(`${p}=${text}`);
      files[p] = text;
    },
    remove(p) {
      removed.push(p);
    },
  };
  return { host, made, written, removed };
}

const HYBRID = [
  "/ /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
  "/ /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
  "/ /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
  "/ /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset",
  "/ /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
];
const ROOTS = {
  "/sys/fs/cgroup/memory": 0,
  "/sys/fs/cgroup/cpu,cpuacct": 0,
  "/sys/fs/cgroup/pids": 0,
  "/sys/fs/cgroup/cpuset": 0,
  "/sys/fs/cgroup/unified": 0,
};
const MEMORY: ControllerFiles = {
  controller: "memory",
  v1: [["memory.limit_in_bytes", "1024"]],
  v2: [["memory.max", "1024"]],
};
const PIDS: ControllerFiles = { controller: "pids", v1: [["pids.max", "16"]], v2: [["pids.max", "16"]] };

Deno.test("a named cgroup as root on a hybrid host: every hierarchy joined, limits on v1, cpuset filled in", () => {
  const files = { "/sys/fs/cgroup/cpuset/cpuset.cpus": "0-1\n", "/sys/fs/cgroup/cpuset/cpuset.mems": "0\n" };
  const { host, made, written } = fakeHost(0, HYBRID, files, { ...ROOTS });
  const dirs = makeNamedCgroup("/pod/c1", [MEMORY, PIDS], host);
  assert.deepEqual(dirs, [
    "/sys/fs/cgroup/memory/pod/c1",
    "/sys/fs/cgroup/cpu,cpuacct/pod/c1",
    "/sys/fs/cgroup/pids/pod/c1",
    "/sys/fs/cgroup/cpuset/pod/c1",
    "/sys/fs/cgroup/unified/pod/c1",
  ]);
  assert.ok(made.includes("/sys/fs/cgroup/memory/pod") && made.includes("/sys/fs/cgroup/memory/pod/c1"));
  assert.deepEqual(written.filter((w) => !w.includes("subtree_control")), [
    "/sys/fs/cgroup/memory/pod/c1/memory.limit_in_bytes=1024",
    "/sys/fs/cgroup/pids/pod/c1/pids.max=16",
    "/sys/fs/cgroup/cpuset/pod/cpuset.cpus=0-1",
    "/sys/fs/cgroup/cpuset/pod/cpuset.mems=0",
    "/sys/fs/cgroup/cpuset/pod/c1/cpuset.cpus=0-1",
    "/sys/fs/cgroup/cpuset/pod/c1/cpuset.mems=0",
  ]);
});

Deno.test("a relative named cgroup goes beneath the caller's own; v2 alone takes the limits where enabled", () => {
  const v2 = ["/ /sys/fs/cgroup rw - cgroup2 cgroup2 rw"];
  const files = {
    "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n",
    "/sys/fs/cgroup/svc/cgroup.controllers": "memory pids",
  };
  const { host, written } = fakeHost(0, v2, files, { "/sys/fs/cgroup": 0, "/sys/fs/cgroup/svc": 0 });
  assert.deepEqual(makeNamedCgroup("c2", [MEMORY], host), ["/sys/fs/cgroup/svc/c2"]);
  assert.deepEqual(written, [
    "/sys/fs/cgroup/svc/cgroup.subtree_control=+memory",
    "/sys/fs/cgroup/svc/cgroup.subtree_control=+pids",
    "/sys/fs/cgroup/svc/c2/memory.max=1024",
  ]);
});

Deno.test("unprivileged: hierarchies not delegated are skipped, a limit there is an error naming it", () => {
  const { host } = fakeHost(1000, HYBRID, {}, { ...ROOTS, "/sys/fs/cgroup/pids/svc": 1000 });
  assert.deepEqual(makeNamedCgroup("/svc/c3", [PIDS], host), ["/sys/fs/cgroup/pids/svc/c3"]);
  assert.throws(
    () => makeNamedCgroup("/svc/c4", [MEMORY], host),
    /the container's cgroup \/svc\/c4: \/sys\/fs\/cgroup\/memory\/svc\/c4 cannot be made by uid 1000/,
  );
});

Deno.test("a limit the kernel refuses names the file and value, and what was made is removed again", () => {
  const { host, removed } = fakeHost(0, HYBRID, {}, { ...ROOTS });
  const write = host.write;
  host.write = (p, text) => {
    if (p.endsWith("/pids.max")) throw new Error("Invalid argument (os error 22)");
    write(p, text);
  };
  assert.throws(
    () => makeNamedCgroup("/pod/c5", [PIDS], host),
    /the container's cgroup \/pod\/c5: \/sys\/fs\/cgroup\/pids\/pod\/c5\/pids\.max = 16: Invalid argument/,
  );
  assert.deepEqual(removed, [
    "/sys/fs/cgroup/memory/pod/c5",
    "/sys/fs/cgroup/cpu,cpuacct/pod/c5",
    "/sys/fs/cgroup/pids/pod/c5",
  ]);
});

Deno.test("a cgroup directory that cannot be made is named with the reason", () => {
  const { host } = fakeHost(0, HYBRID, {}, { ...ROOTS });
  host.mkdir = (p) => {
    throw new Error(`Read-only file system (os error 30): mkdir '${p}'`);
  };
  assert.throws(
    () => makeNamedCgroup("/pod/c6", [MEMORY], host),
    /the container's cgroup \/pod\/c6: \/sys\/fs\/cgroup\/memory\/pod: Read-only file system/,
  );
});
