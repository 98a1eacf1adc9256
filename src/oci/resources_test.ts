import assert from "node:assert/strict";
import { readConfig } from "./config.ts";
import { cgroupfsPath, resourceFiles } from "./resources.ts";

const withResources = (resources: unknown) =>
  readConfig(JSON.stringify({
    ociVersion: "1.0.2",
    root: { path: "rootfs" },
    process: { args: ["true"], cwd: "/", user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }], resources },
  })).linux.resources;

Deno.test("linux.resources to cgroup files as runc writes them, v1 and v2", () => {
  const files = resourceFiles(withResources({
    memory: { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
    pids: { limit: 16 },
  }));
  assert.deepEqual(files, [
    {
      controller: "memory",
      v1: [
        ["memory.limit_in_bytes", "67108864"],
        ["memory.memsw.limit_in_bytes", "134217728"],
        ["memory.soft_limit_in_bytes", "33554432"],
      ],
      v2: [["memory.max", "67108864"], ["memory.swap.max", "67108864"], ["memory.low", "33554432"]],
    },
    {
      controller: "cpu",
      v1: [["cpu.shares", "512"], ["cpu.cfs_period_us", "100000"], ["cpu.cfs_quota_us", "50000"]],
      v2: [["cpu.weight", "20"], ["cpu.max", "50000 100000"]],
    },
    { controller: "cpuset", v1: [["cpuset.cpus", "0"]], v2: [["cpuset.cpus", "0"]] },
    { controller: "pids", v1: [["pids.max", "16"]], v2: [["pids.max", "16"]] },
  ]);
});

Deno.test("unlimited values (-1, pids 0) write nothing", () => {
  const files = resourceFiles(
    withResources({ memory: { limit: -1, swap: -1 }, cpu: { quota: -1 }, pids: { limit: 0 } }),
  );
  assert.deepEqual(files, []);
  assert.deepEqual(resourceFiles(withResources(undefined)), []);
});

Deno.test("a systemd-form cgroupsPath is the path systemd would make, as runc expands it", () => {
  assert.equal(cgroupfsPath("/libpod_parent/libpod-abc"), "/libpod_parent/libpod-abc");
  assert.equal(cgroupfsPath("system.slice:docker:abc"), "/system.slice/docker-abc.scope");
  assert.equal(
    cgroupfsPath("kubepods-burstable-pod1.slice:cri-containerd:abc"),
    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope",
  );
  assert.equal(cgroupfsPath(":crio:abc"), "/system.slice/crio-abc.scope");
  assert.equal(cgroupfsPath("-.slice::abc"), "/abc.scope");
  assert.equal(cgroupfsPath("machine.slice::web.slice"), "/machine.slice/web.slice");
  assert.throws(
    () => cgroupfsPath("system.slice:abc"),
    /linux\.cgroupsPath: "system\.slice:abc": expected slice:prefix:name/,
  );
  assert.throws(() => cgroupfsPath("a--b.slice:p:n"), /linux\.cgroupsPath: .*"a--b\.slice" is not a slice name/);
  assert.throws(() => cgroupfsPath("not-a-slice:p:n"), /is not a slice name/);
});
