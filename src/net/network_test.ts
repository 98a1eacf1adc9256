import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { parseNetwork, parseNetworkPolicy, pastaArgs, pastaDnsAddress } from "./network.ts";

const fail = (p: (string | number)[], m: string): never => {
  throw new Error(`${p.join(".")}: ${m}`);
};

Deno.test("--network values", () => {
  assert.deepEqual(parseNetwork("none", "--network"), { mode: "none", options: [] });
  assert.deepEqual(parseNetwork("host", "--network"), { mode: "host", options: [] });
  assert.deepEqual(parseNetwork("pasta", "--network"), { mode: "pasta", options: [] });
  assert.deepEqual(parseNetwork("pasta:-T,8080,--map-gw", "--network"), {
    mode: "pasta",
    options: ["-T", "8080", "--map-gw"],
  });
  for (const bad of ["bridge", "host:x", "pasta:", "pasta:-T,,1", ""]) {
    assert.throws(() => parseNetwork(bad, "--network"), UsageError, bad);
  }
});

Deno.test("pasta argv: 1.x defaults, overridden by the user's options", () => {
  assert.deepEqual(pastaArgs([], 42, "/p", false), [
    "--quiet",
    "--config-net",
    "--no-map-gw",
    "--no-udp",
    "-t",
    "none",
    "-u",
    "none",
    "-T",
    "none",
    "-U",
    "none",
    "--dns-forward",
    "169.254.1.1",
    "--pid",
    "/p",
    "--userns",
    "/proc/42/ns/user",
    "--netns",
    "/proc/42/ns/net",
  ]);
  const a = pastaArgs(["-T", "8080", "--map-gw"], 7, "/p", true);
  assert.ok(!a.includes("--no-map-gw") && !a.includes("--map-gw"));
  assert.deepEqual(a.slice(a.indexOf("--pid")), [
    "--pid",
    "/p",
    "-T",
    "8080",
    "--userns",
    "/proc/7/ns/user",
    "--netns",
    "/proc/7/ns/net",
  ]);
  assert.ok(a.join(" ").includes("-t none -u none -U none --runas 0 --dns-forward 169.254.1.1"));
  assert.ok(!pastaArgs(["--runas", "1000"], 7, "/p", true).includes("0"));
  const own = pastaArgs(["--dns-forward", "10.0.2.3"], 7, "/p", false);
  assert.equal(own.filter((x) => x === "--dns-forward").length, 1);
  assert.equal(pastaDnsAddress(["--dns-forward", "10.0.2.3"]), "10.0.2.3");
  assert.equal(pastaDnsAddress(["-T", "80"]), "169.254.1.1");
});

Deno.test("pasta argv: UDP is off unless a UDP port is forwarded or --udp (not a pasta option) asks for it", () => {
  const udp = (opts: string[]) => !pastaArgs(opts, 7, "/p", false).includes("--no-udp");
  assert.equal(udp([]), false);
  assert.equal(udp(["-T", "8080"]), false);
  assert.equal(udp(["-u", "none"]), false);
  assert.equal(udp(["--udp-ns=none"]), false);
  assert.equal(udp(["-U", "53"]), true);
  assert.equal(udp(["--udp-ports=5353"]), true);
  assert.equal(udp(["--udp"]), true);
  assert.ok(!pastaArgs(["--udp"], 7, "/p", false).includes("--udp"), "--udp is hakoniwa's, not pasta's");
  assert.equal(pastaArgs(["--no-udp"], 7, "/p", false).filter((a) => a === "--no-udp").length, 1);
});

Deno.test("[network] policy table", () => {
  assert.deepEqual(parseNetworkPolicy({ mode: "pasta", options: ["-T", "1"] }, fail), {
    mode: "pasta",
    options: ["-T", "1"],
  });
  assert.throws(() => parseNetworkPolicy({ mode: "bridge" }, fail), /^Error: mode:/);
  assert.throws(() => parseNetworkPolicy({ mode: "none", options: ["-T"] }, fail), /options: only pasta/);
  assert.throws(() => parseNetworkPolicy({ mode: "pasta", options: [1] }, fail), /options\.0/);
  assert.throws(() => parseNetworkPolicy({ mode: "none", extra: 1 }, fail), /extra: unknown key/);
});
