import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import {
  emptyLandlock,
  fsRights,
  type LandlockSettings,
  LandlockUnsupportedError,
  negotiateLandlock,
  parseFsAccess,
  parseLandlockPolicy,
  parseResources,
  resolveLandlock,
} from "./landlock.ts";

const settings = (s: Partial<LandlockSettings>): LandlockSettings => ({ ...emptyLandlock(), ...s });
const fail = (p: (string | number)[], m: string): never => {
  throw new Error(`${p.join(".")}: ${m}`);
};

Deno.test("access strings: 1.x dashes and plain letters; anything else is refused", () => {
  assert.equal(parseFsAccess("r-x", "k"), "rx");
  assert.equal(parseFsAccess("rw", "k"), "rw");
  assert.equal(parseFsAccess("-w-", "k"), "w");
  for (const bad of ["", "---", "xr", "rwz", "R"]) assert.throws(() => parseFsAccess(bad, "k"), UsageError);
});

Deno.test("resources: 1.x names with and without net., unknown ones refused", () => {
  assert.deepEqual(parseResources("fs,net.tcp.bind,tcp.connect", "f"), ["fs", "tcp.bind", "tcp.connect"]);
  assert.throws(() => parseResources("fs,udp", "--landlock-restrict"), /--landlock-restrict: unknown resource "udp"/);
});

Deno.test("fs rights per ABI: r, w, x map to the kernel's bits; newer rights only where the ABI has them", () => {
  assert.equal(fsRights("x", 1), 0x1n);
  assert.equal(fsRights("r", 1), 0xcn);
  assert.equal(fsRights("w", 1), 0x1ff2n);
  assert.equal(fsRights("w", 2), 0x3ff2n); // + REFER
  assert.equal(fsRights("w", 3), 0x7ff2n); // + TRUNCATE
  assert.equal(fsRights("w", 5), 0xfff2n); // + IOCTL_DEV
  assert.equal(fsRights("rwx", 7), 0xffffn);
});

Deno.test("negotiation at ABI 7: handled masks, rules and scopes", () => {
  const n = negotiateLandlock(
    settings({
      restrict: ["fs", "tcp.bind", "tcp.connect", "scope.abstract-unix-socket", "scope.signal"],
      paths: [{ path: "/usr", access: "rx" }],
      ports: [{ access: "tcp.bind", port: 8000 }, { access: "tcp.connect", port: 443 }],
    }),
    7,
  );
  assert.equal(n.abi, 7);
  assert.deepEqual(n.dropped, []);
  assert.equal(n.ruleset?.fs, 0xffffn);
  assert.equal(n.ruleset?.net, 3n);
  assert.equal(n.ruleset?.scoped, 3n);
  assert.deepEqual(n.ruleset?.paths, [{ path: "/usr", access: 0xdn }]);
  assert.deepEqual(n.ruleset?.ports, [{ port: 8000, access: 1n }, { port: 443, access: 2n }]);
});

Deno.test("fail closed: a restriction above the ABI is an error naming it and the ABI needed", () => {
  assert.throws(
    () => negotiateLandlock(settings({ restrict: ["tcp.bind"] }), 3),
    (e: unknown) => e instanceof LandlockUnsupportedError && e.resource === "tcp.bind" && e.needed === 4,
  );
  assert.throws(() => negotiateLandlock(settings({ restrict: ["fs"] }), 2), /fs needs Landlock ABI 3/);
  assert.throws(() => negotiateLandlock(settings({ restrict: ["scope.signal"] }), 5), /ABI 6/);
  assert.throws(() => negotiateLandlock(settings({ restrict: ["fs"] }), 0), /offers no Landlock/);
  // maxAbi caps what the kernel offers, and the message says so
  assert.throws(
    () => negotiateLandlock(settings({ restrict: ["tcp.connect"], maxAbi: 3 }), 7),
    /using ABI 3 \(the kernel offers ABI 7, capped by landlockAbi\(\)\)/,
  );
});

Deno.test("best effort drops what the ABI lacks and says what", () => {
  const n = negotiateLandlock(
    settings({
      restrict: ["fs", "tcp.bind"],
      paths: [{ path: "/usr", access: "rwx" }],
      ports: [{ access: "tcp.bind", port: 80 }],
      bestEffort: true,
    }),
    2,
  );
  assert.equal(n.ruleset?.fs, 0x3fffn); // fs without truncate
  assert.equal(n.ruleset?.net, 0n);
  assert.deepEqual(n.ruleset?.ports, []);
  assert.equal(n.dropped.length, 2);
  assert.match(n.dropped.join("\n"), /truncation/);
  assert.match(n.dropped.join("\n"), /tcp\.bind: not restricted/);
  const none = negotiateLandlock(settings({ restrict: ["fs"], bestEffort: true }), 0);
  assert.equal(none.ruleset, undefined);
});

Deno.test("resolve: rules imply their resource, duplicates merge, unrestricted with rules is refused", () => {
  const r = resolveLandlock(settings({
    paths: [{ path: "/a", access: "r" }, { path: "/a", access: "x" }],
    ports: [{ access: "tcp.connect", port: 1 }, { access: "tcp.connect", port: 1 }],
  }));
  assert.deepEqual(r?.restrict, ["fs", "tcp.connect"]);
  assert.deepEqual(r?.paths, [{ path: "/a", access: "rx" }]);
  assert.equal(r?.ports.length, 1);
  assert.equal(resolveLandlock(settings({ restrict: ["fs"], unrestricted: ["fs"] })), null);
  assert.throws(
    () => resolveLandlock(settings({ ports: [{ access: "tcp.bind", port: 1 }], unrestricted: ["tcp.bind"] })),
    /tcp\.bind is unrestricted but has 1 rule/,
  );
});

Deno.test("policy table: 1.x form and key paths in errors", () => {
  const s = parseLandlockPolicy({
    resources: [{ type: "fs" }, { type: "tcp.connect" }, { type: "tcp.connect", unrestrict: true }],
    fs: [{ path: "/usr", access: "r-x" }],
    net: [{ port: 8000, access: "tcp.bind" }],
    best_effort: true,
  }, fail);
  assert.deepEqual(s.restrict, ["fs"]);
  assert.deepEqual(s.unrestricted, ["tcp.connect"]);
  assert.equal(s.bestEffort, true);
  assert.throws(() => parseLandlockPolicy({ fs: [{ path: "usr", access: "r" }] }, fail), /^Error: fs\.0\.path/);
  assert.throws(() => parseLandlockPolicy({ net: [{ port: 70000, access: "tcp.bind" }] }, fail), /net\.0\.port/);
  assert.throws(() => parseLandlockPolicy({ net: [{ port: 1, access: "udp" }] }, fail), /net\.0\.access/);
  assert.throws(() => parseLandlockPolicy({ resources: [{ type: "x" }] }, fail), /resources\.0\.type/);
  assert.throws(() => parseLandlockPolicy({ rules: [] }, fail), /rules: unknown key/);
});
