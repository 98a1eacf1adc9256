import assert from "node:assert/strict";
import {
  addressAllowed,
  addressClass,
  canonicalHost,
  decide,
  formatAddress,
  parseAllowNet,
  parseAllowNetPolicy,
  parseIPv6,
  parseNetRule,
  proxyEnv,
} from "./allow.ts";
import { UsageError } from "../common/errors.ts";

Deno.test("parseNetRule: names, wildcards, addresses, ports, as Deno spells them", () => {
  assert.deepEqual(parseNetRule("Registry.NPMjs.org", "f"), {
    text: "Registry.NPMjs.org",
    kind: "name",
    host: "registry.npmjs.org",
    port: null,
  });
  assert.deepEqual(parseNetRule(" *.example.com:443 ", "f"), {
    text: "*.example.com:443",
    kind: "wildcard",
    host: "example.com",
    port: 443,
  });
  assert.deepEqual(parseNetRule("127.0.0.1:8080", "f"), {
    text: "127.0.0.1:8080",
    kind: "address",
    host: "127.0.0.1",
    port: 8080,
  });
  assert.equal(parseNetRule("[0:0::1]:53", "f").host, "::1");
  assert.equal(parseNetRule("::1", "f").port, null);
  assert.equal(parseNetRule("localhost.", "f").host, "localhost");
});

Deno.test("parseNetRule: a malformed entry is a UsageError naming the flag and the entry", () => {
  const cases: [string, RegExp][] = [
    ["", /expected HOST\[:PORT\]/],
    ["https://example.com", /a host, not a URL/],
    ["example.com:0", /port must be a number from 1 to 65535/],
    ["example.com:65536", /port must be/],
    ["example.com:http", /port must be/],
    ["*", /would allow every host/],
    ["*.com", /two labels or more/],
    ["a.*.example.com", /only allowed as the first label/],
    ["exa mple.com", /expected a host name/],
    ["-bad.example", /expected a host name/],
    ["127.1", /expected a host name/],
    ["0x7f.0.0.1", /expected a host name/],
    ["[::1", /no closing \]/],
    ["[::1]x", /expected \[IPv6\]:PORT/],
    ["[example.com]", /expected a host name/],
    ["fe80::1%eth0", /expected a host name/],
  ];
  for (const [entry, message] of cases) {
    assert.throws(() => parseNetRule(entry, "--allow-net"), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${entry}: ${e}`);
      assert.equal(e.option, "--allow-net");
      assert.match(e.message, /^--allow-net: /);
      assert.match(e.message, message);
      assert.ok(e.message.endsWith(`got ${JSON.stringify(entry)}`), e.message);
      return true;
    });
  }
  assert.throws(() => parseAllowNet("a.test,,b.test", "--allow-net"), /--allow-net: expected HOST\[:PORT\], got ""/);
});

Deno.test("parseAllowNetPolicy: an array of strings; a bad entry names its index", () => {
  const fail = (p: (string | number)[], m: string): never => {
    throw new Error(`allow_net${p.map((x) => `[${x}]`).join("")}: ${m}`);
  };
  assert.equal(parseAllowNetPolicy(["a.test", "*.b.test:443"], fail).length, 2);
  assert.throws(() => parseAllowNetPolicy("a.test", fail), /^Error: allow_net: expected an array/);
  assert.throws(() => parseAllowNetPolicy(["a.test", 3], fail), /^Error: allow_net\[1\]: expected a "HOST\[:PORT\]"/);
  assert.throws(() => parseAllowNetPolicy(["a.test:99999"], fail), /^Error: allow_net\[0\]: the port must be/);
});

Deno.test("addresses: IPv6 parsing and RFC 5952 text", () => {
  assert.equal(formatAddress(parseIPv6("2001:DB8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  assert.equal(formatAddress(parseIPv6("::ffff:192.0.2.1")!), "::ffff:c000:201");
  assert.equal(formatAddress(parseIPv6("1:0:0:2:0:0:0:3")!), "1:0:0:2::3");
  assert.equal(formatAddress(parseIPv6("1:2:3:4:5:6:7:8")!), "1:2:3:4:5:6:7:8");
  for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "::g", ":::"]) assert.equal(parseIPv6(bad), null, bad);
  assert.equal(canonicalHost("[::1]")?.host, "::1");
  assert.equal(canonicalHost("[127.0.0.1]"), null);
});

Deno.test("decide: by the name asked for, never by an address; ports; wildcards cover subdomains only", () => {
  const rules = parseAllowNet("registry.test:8080,*.cdn.test,127.0.0.1:9000", "f");
  assert.equal(decide(rules, "registry.test", 8080).allowed, true);
  assert.equal(decide(rules, "REGISTRY.test.", 8080).allowed, true);
  const port = decide(rules, "registry.test", 443);
  assert.deepEqual(port, {
    allowed: false,
    rule: "registry.test:8080",
    reason: "registry.test is allowed on port 8080",
  });
  assert.deepEqual(decide(rules, "other.test", 8080), {
    allowed: false,
    rule: "default-deny",
    reason: "no allow-net entry names other.test",
  });
  assert.equal(decide(rules, "a.b.cdn.test", 1).allowed, true);
  assert.equal(decide(rules, "cdn.test", 443).allowed, false);
  assert.equal(decide(rules, "xcdn.test", 443).allowed, false);
  // An address is allowed only when listed, whatever name resolves to it.
  assert.equal(decide(rules, "127.0.0.1", 9000).allowed, true);
  assert.equal(decide(rules, "127.0.0.1", 8080).allowed, false);
  assert.equal(decide(rules, "[::1]", 9000).allowed, false);
  assert.equal(decide(rules, "127.0.0.1.", 9000).allowed, false, "a name with a numeric last label is no name");
  assert.equal(decide(rules, "bad host", 80).rule, "malformed");
  assert.equal(decide(rules, "registry.test", 0).rule, "malformed");
});

Deno.test("addressClass: loopback, private, link-local and the rest; public is null", () => {
  const cases: [string, string | null][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private"],
    ["172.31.0.1", "private"],
    ["172.32.0.1", null],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared (carrier-grade NAT)"],
    ["0.0.0.0", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.1", "multicast"],
    ["192.0.2.2", "reserved (documentation)"],
    ["151.101.0.1", null],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "loopback"],
    ["64:ff9b::a00:1", "private"],
    ["fd00::2", "private (unique local)"],
    ["fe80::1", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "reserved (documentation)"],
    ["2a04:4e42::1", null],
  ];
  for (const [a, cls] of cases) assert.equal(addressClass(a), cls, a);
});

Deno.test("addressAllowed: a non-public address needs a listing; a listed literal and localhost are listings", () => {
  const rules = parseAllowNet("registry.test:8080,localhost,127.0.0.2", "f");
  assert.equal(addressAllowed(rules, rules[0], "151.101.0.1", 8080), true);
  assert.equal(addressAllowed(rules, rules[0], "127.0.0.1", 8080), false);
  assert.equal(addressAllowed(rules, rules[0], "127.0.0.2", 8080), true);
  assert.equal(addressAllowed(rules, rules[1], "127.0.0.1", 5000), true);
  assert.equal(addressAllowed(rules, rules[1], "10.0.0.1", 5000), false);
  const ported = parseAllowNet("registry.test,127.0.0.1:8080", "f");
  assert.equal(addressAllowed(ported, ported[0], "127.0.0.1", 8080), true);
  assert.equal(addressAllowed(ported, ported[0], "127.0.0.1", 22), false);
});

Deno.test("proxyEnv: both cases of HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY", () => {
  const env = new Map(proxyEnv(3128));
  for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]) {
    assert.ok(env.has(k) && env.get(k) === env.get(k.toLowerCase()), k);
  }
  assert.equal(env.get("https_proxy"), "http://127.0.0.1:3128");
  assert.equal(env.get("all_proxy"), "socks5h://127.0.0.1:3128");
  assert.match(env.get("no_proxy")!, /^localhost,127\.0\.0\.1,::1$/);
});
