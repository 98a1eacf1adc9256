import assert from "node:assert/strict";
import { OciConfigError, readConfig } from "./config.ts";
import { ociPlan } from "./plan.ts";
import type { OciHost } from "./mounts.ts";
import { capabilityMask } from "./capabilities.ts";
import { parseSignal } from "./lifecycle.ts";

const DEVICES: Record<string, [number, number]> = {
  "/dev/null": [1, 3],
  "/dev/zero": [1, 5],
  "/dev/full": [1, 7],
  "/dev/random": [1, 8],
  "/dev/urandom": [1, 9],
  "/dev/tty": [5, 0],
};

function host(warnings: string[] = []): OciHost {
  return {
    realPath: (p) => p.replace(/\/+$/, ""),
    device: (p) => DEVICES[p] ? { type: "c", major: DEVICES[p][0], minor: DEVICES[p][1] } : null,
    cgroup2: false,
    warn: (m) => warnings.push(m),
  };
}

function config(extra: Record<string, unknown> = {}, linux: Record<string, unknown> = {}) {
  return JSON.stringify({
    ociVersion: "1.0.2",
    root: { path: "rootfs", readonly: true },
    process: {
      args: ["sh", "-c", "true"],
      cwd: "/work",
      env: ["PATH=/bin", "A=b=c"],
      user: { uid: 1000, gid: 100, umask: 18, additionalGids: [5] },
      capabilities: { bounding: ["CAP_KILL", "CAP_CHOWN"], permitted: ["CAP_KILL"], ambient: ["CAP_KILL"] },
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 512, hard: 1024 }],
      noNewPrivileges: true,
      oomScoreAdj: 100,
    },
    hostname: "box",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance", "ptmxmode=0666"] },
      { destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro", "nosuid"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"] },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "mount" }, { type: "uts" }, { type: "network", path: "/run/netns/x" }],
      sysctl: { "net.ipv4.ping_group_range": "0 0" },
      maskedPaths: ["/proc/kcore"],
      readonlyPaths: ["/proc/sys"],
      resources: { devices: [{ allow: false, access: "rwm" }], cpu: { shares: 1024 } },
      ...linux,
    },
    ...extra,
  });
}

const input = { bundle: "/b", startFifo: "/state/c/exec.fifo", setgroups: true, noNewKeyring: false };

Deno.test("a config becomes a detached plan: namespaces, user, limits, capabilities", () => {
  const warnings: string[] = [];
  const plan = ociPlan(readConfig(config()), input, host(warnings));
  assert.deepEqual(plan.namespaces, ["pid", "mount", "uts"]);
  assert.deepEqual(plan.oci?.join, [{ namespace: "network", path: "/run/netns/x" }]);
  assert.deepEqual([plan.uid, plan.gid, plan.groups, plan.cwd], [1000, 100, [5], "/work"]);
  assert.deepEqual(plan.env, [["PATH", "/bin"], ["A", "b=c"]]);
  assert.deepEqual([plan.program, plan.searchPath, plan.hostname], ["sh", "/bin", "box"]);
  assert.deepEqual(plan.rlimits, [{ name: "nofile", value: 1024, soft: 512 }]);
  assert.equal(plan.allowNewPrivs, false);
  assert.deepEqual(plan.root, { source: "/b/rootfs", readonly: true });
  assert.equal(plan.oci?.capabilities.bounding, capabilityMask(["CAP_KILL", "CAP_CHOWN"], "x"));
  assert.equal(plan.oci?.capabilities.ambient, 0n); // not inheritable: left out, and said
  assert.match(warnings.join("\n"), /ambient/);
  assert.deepEqual([plan.oci?.oomScoreAdj, plan.oci?.umask, plan.oci?.startFifo], [100, 18, "/state/c/exec.fifo"]);
});

Deno.test("mounts in runc's order: listed, devices, /dev links, sysctls, read-only, masked", () => {
  const warnings: string[] = [];
  const ops = ociPlan(readConfig(config()), input, host(warnings)).mounts;
  const kinds = ops.map((o) => `${o.kind} ${o.target}`);
  assert.deepEqual(kinds.slice(0, 5), ["fs /proc", "fs /dev", "fs /dev/pts", "bind /data", "fs /sys/fs/cgroup"]);
  assert.deepEqual(ops[1], {
    kind: "fs",
    fstype: "tmpfs",
    target: "/dev",
    options: "mode=755",
    flags: { readonly: false, nosuid: true, nodev: false, noexec: false },
  });
  assert.deepEqual(ops[3], {
    kind: "bind",
    source: "/srv/data",
    target: "/data",
    readonly: true,
    flags: { readonly: true, nosuid: true, nodev: false, noexec: false },
  });
  assert.match(warnings.join("\n"), /cgroup v1/); // an empty read-only tmpfs stands in
  assert.ok(kinds.includes("bind /dev/null") && kinds.includes("bind /dev/tty"));
  assert.ok(kinds.includes("symlink /dev/ptmx") && kinds.includes("symlink /dev/fd"));
  assert.deepEqual(kinds.slice(-3), [
    "write /proc/sys/net/ipv4/ping_group_range",
    "readonly /proc/sys",
    "mask /proc/kcore",
  ]);
});

Deno.test("what cannot be applied is refused by name", () => {
  const refused = (text: string, key: RegExp) =>
    assert.throws(() => ociPlan(readConfig(text), input, host()), (e: Error) => {
      assert.ok(e instanceof OciConfigError, String(e));
      assert.match(e.message, key);
      return true;
    });
  refused(
    config({}, { resources: { memory: { kernel: 1 << 20 } } }),
    /linux\.resources\.memory\.kernel: not supported/,
  );
  refused(config({}, { resources: { cpu: { realtimeRuntime: 5 } } }), /linux\.resources\.cpu\.realtimeRuntime/);
  refused(config({}, { resources: { blockIO: { weight: 10 } } }), /linux\.resources\.blockIO: not supported/);
  refused(config({}, { resources: { memory: { limit: "1g" } } }), /linux\.resources\.memory\.limit: expected/);
  refused(config({ hooks: { prestart: [{ path: "/x" }] } }), /^config\.json: hooks: not supported/);
  refused(config({}, { namespaces: [{ type: "pid", path: "/proc/1/ns/pid" }, { type: "mount" }] }), /pid namespace/);
  refused(config({}, { namespaces: [{ type: "mount" }] }), /a new pid namespace is required/);
  refused(config({}, { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "time" }] }), /"time": not supported/);
  refused(config({}, { devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229 }] }), /linux\.devices\[0\]/);
  refused(config({}, { rootfsPropagation: "shared" }), /rootfsPropagation/);
  refused(config({ ociVersion: "2.0.0" }), /ociVersion/);
  const shared = JSON.parse(config());
  shared.mounts[3].options.push("rshared");
  refused(JSON.stringify(shared), /mounts\[3\]\.options: rshared/);
  const rlimit = JSON.parse(config());
  rlimit.process.rlimits = [{ type: "RLIMIT_MEMLOCK", soft: 1, hard: 1 }];
  refused(JSON.stringify(rlimit), /RLIMIT_MEMLOCK: not supported/);
  // Properties the spec does not define are ignored, as it asks.
  assert.doesNotThrow(() => ociPlan(readConfig(config({ "org.example.x": 1 })), input, host()));
});

Deno.test("signals by number, with or without SIG", () => {
  assert.deepEqual([parseSignal("9"), parseSignal("TERM"), parseSignal("sigusr1")], [9, 15, 10]);
  assert.throws(() => parseSignal("0"), /invalid signal/);
  assert.throws(() => parseSignal("NOPE"), /invalid signal/);
});
