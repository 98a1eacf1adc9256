/**
 * The allow list of `--allow-net` (src/net/): takes `HOST[:PORT][,...]` (the flag, the policy key `allow_net`,
 * `Container.allowNet()`) and gives {@link NetRule}s, the decision on each connection the proxy (proxy.ts) is asked
 * for, and the classes of addresses a name may not resolve to unless they are listed.
 *
 * Deno's spelling: a name (`registry.npmjs.org`), `*.example.com` for every subdomain of example.com (not
 * example.com itself), an IPv4 address or an IPv6 one in brackets (`[::1]`), each with an optional `:PORT` (none:
 * every port). Decisions are by the name the client asked for, never by an address alone: a request for a name
 * is allowed only by a rule naming it, a request for an address only by a rule listing that address. A name that
 * resolves to a loopback, private, link-local or otherwise non-public address is refused unless a rule lists that
 * address (or the rule names `localhost`, for loopback).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";

/** What a rule names: a host name, every subdomain of one, or an address. */
export type NetRuleKind = "name" | "wildcard" | "address";

/**
 * One entry of the allow list.
 *
 * @example
 * ```ts
 * import { parseNetRule } from "./allow.ts";
 * const rule: import("./allow.ts").NetRule = parseNetRule("*.npmjs.org:443", "--allow-net");
 * console.log(rule.kind, rule.host, rule.port); // wildcard npmjs.org 443
 * ```
 */
export interface NetRule {
  /** The entry as written (trimmed), for reports. */
  text: string;
  /** What it names. */
  kind: NetRuleKind;
  /** The name in lower case without a trailing dot (for a wildcard, the part after `*.`), or the address. */
  host: string;
  /** The one port it allows, or null for every port. */
  port: number | null;
}

/**
 * The port the sandbox's bridge listens on, at 127.0.0.1 inside: what `HTTP_PROXY` and friends name.
 *
 * @example
 * ```ts
 * import { PROXY_PORT } from "./allow.ts";
 * console.log(`http://127.0.0.1:${PROXY_PORT}`); // http://127.0.0.1:3128
 * ```
 */
export const PROXY_PORT = 3128;

/**
 * Where the proxy's unix socket is bound inside the sandbox.
 *
 * @example
 * ```ts
 * import { PROXY_SOCKET } from "./allow.ts";
 * console.log(PROXY_SOCKET); // /run/hakoniwa/net.sock
 * ```
 */
export const PROXY_SOCKET = "/run/hakoniwa/net.sock";

/**
 * The allow-net part of a plan: the rules, and where the proxy is inside.
 *
 * @example
 * ```ts
 * import { parseAllowNet, PROXY_PORT, PROXY_SOCKET } from "./allow.ts";
 * const p: import("./allow.ts").AllowNetPlan = {
 *   rules: parseAllowNet("deb.debian.org", "--allow-net"),
 *   port: PROXY_PORT,
 *   socket: PROXY_SOCKET,
 * };
 * console.log(p.rules.length); // 1
 * ```
 */
export interface AllowNetPlan {
  /** The allow list. */
  rules: NetRule[];
  /** The port of the bridge at 127.0.0.1 inside. */
  port: number;
  /** The path of the proxy's socket inside. */
  socket: string;
}

/**
 * A connection the proxy refused: what the report lists and `-v` prints.
 *
 * @example
 * ```ts
 * const r: import("./allow.ts").NetRefusal = {
 *   time: new Date(), host: "evil.test", port: 443, protocol: "connect", rule: "default-deny",
 *   reason: "no allow-net entry names evil.test",
 * };
 * console.log(r.rule);
 * ```
 */
export interface NetRefusal {
  /** When it was refused. */
  time: Date;
  /** The name or address asked for, as asked ("" when the request could not be read). */
  host: string;
  /** The port asked for (0 when unknown). */
  port: number;
  /** How it was asked: a plain HTTP request, HTTP CONNECT, SOCKS5, or not known. */
  protocol: "http" | "connect" | "socks5" | "unknown";
  /**
   * The rule that decided: an entry's text (the name is allowed on other ports only), `default-deny` (no entry
   * names it), `private-address` (it resolves to an address no entry lists), `malformed`, `unsupported` (a SOCKS
   * command other than CONNECT: UDP and BIND are never forwarded) or `connection-limit`.
   */
  rule: string;
  /** Why, in words. */
  reason: string;
}

/** A host as a request or a rule gives it, checked and in canonical form. */
export type CanonicalHost = { kind: "name"; host: string } | { kind: "v4" | "v6"; host: string; bytes: Uint8Array };

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * An IPv4 address in dotted-quad form (no leading zeros, no shorter forms) as its 4 bytes, or null.
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "./allow.ts";
 * console.log(parseIPv4("127.0.0.1"), parseIPv4("127.1")); // Uint8Array(4) [127, 0, 0, 1] null
 * ```
 */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (const [i, p] of parts.entries()) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

/**
 * An IPv6 address (`::` shorthand and a trailing dotted IPv4 allowed, no zone) as its 16 bytes, or null.
 *
 * @example
 * ```ts
 * import { parseIPv6 } from "./allow.ts";
 * console.log(parseIPv6("::1")?.[15], parseIPv6("fe80::1%eth0")); // 1 null
 * ```
 */
export function parseIPv6(s: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > 45) return null;
  let tail: Uint8Array | null = null;
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    tail = parseIPv4(s.slice(lastColon + 1));
    if (!tail) return null;
    text = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string) => h === "" ? [] : h.split(":");
  const head = groups(halves[0]), rest = halves.length === 2 ? groups(halves[1]) : [];
  const n = head.length + rest.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return null;
  const all = [...head, ...Array(8 - n).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (const [i, g] of all.entries()) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/**
 * The canonical text of an address's bytes: dotted quad, or RFC 5952 IPv6 (lower case, the longest run of zero
 * groups as `::`).
 *
 * @example
 * ```ts
 * import { formatAddress, parseIPv6 } from "./allow.ts";
 * console.log(formatAddress(parseIPv6("0:0:0:0:0:0:0:1")!)); // ::1
 * ```
 */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const g = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/**
 * A host as asked for (a name, an IPv4 address, an IPv6 address with or without brackets), checked: a name has
 * letters, digits, `-` and `_` in labels of at most 63, at most 253 in all, and a last label that is not a number
 * (`127.1` or `0x7f.1` are not names: some resolvers read them as addresses). Null when it is none of these.
 *
 * @example
 * ```ts
 * import { canonicalHost } from "./allow.ts";
 * console.log(canonicalHost("Registry.NPMjs.org."), canonicalHost("127.1")); // { kind: "name", host: "registry.npmjs.org" } null
 * ```
 */
export function canonicalHost(raw: string): CanonicalHost | null {
  const s = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (s.includes(":")) {
    const bytes = parseIPv6(s);
    return bytes ? { kind: "v6", host: formatAddress(bytes), bytes } : null;
  }
  if (s !== raw) return null; // brackets around something that is not IPv6
  const v4 = parseIPv4(s);
  if (v4) return { kind: "v4", host: formatAddress(v4), bytes: v4 };
  const name = s.toLowerCase().replace(/\.$/, "");
  if (!name || name.length > 253) return null;
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) return null;
  if (/^(\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1])) return null;
  return { kind: "name", host: name };
}

/**
 * Parses one entry `HOST[:PORT]`; throws {@link UsageError} naming `what` (the flag, key or method).
 *
 * @example
 * ```ts
 * import { parseNetRule } from "./allow.ts";
 * console.log(parseNetRule("[::1]:8080", "--allow-net")); // { text: "[::1]:8080", kind: "address", host: "::1", port: 8080 }
 * ```
 */
export function parseNetRule(entry: string, what: string): NetRule {
  const text = entry.trim();
  const bad = (why: string): never => {
    throw new UsageError(`${what}: ${why}, got ${JSON.stringify(entry)}`, what);
  };
  if (!text) bad("expected HOST[:PORT]");
  if (text.includes("/") || text.includes("@")) bad("expected HOST[:PORT] (a host, not a URL)");
  let host = text, port: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) bad("an IPv6 address in brackets has no closing ]");
    host = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest && !rest.startsWith(":")) bad("expected [IPv6]:PORT");
    if (rest) port = rest.slice(1);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host, port] = text.split(":");
  }
  let portNumber: number | null = null;
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      bad("the port must be a number from 1 to 65535");
    }
    portNumber = Number(port);
  }
  if (host === "*") bad("`*` would allow every host: list names, or use --network pasta for an open network");
  if (host.startsWith("*.")) {
    const base = canonicalHost(host.slice(2));
    if (!base || base.kind !== "name") bad("expected *.NAME with a host name after *.");
    if (!base!.host.includes(".")) bad("*.NAME needs a name of two labels or more (not a whole top-level domain)");
    return { text, kind: "wildcard", host: base!.host, port: portNumber };
  }
  if (host.includes("*")) bad("a wildcard is only allowed as the first label (*.example.com)");
  const h = canonicalHost(host);
  if (!h) bad("expected a host name, an IPv4 address or an [IPv6] address");
  return { text, kind: h!.kind === "name" ? "name" : "address", host: h!.host, port: portNumber };
}

/**
 * Parses a comma-separated list of entries (the flag's value); throws {@link UsageError} naming `what`.
 *
 * @example
 * ```ts
 * import { parseAllowNet } from "./allow.ts";
 * console.log(parseAllowNet("registry.npmjs.org:443,*.pythonhosted.org", "--allow-net").map((r) => r.kind)); // ["name", "wildcard"]
 * ```
 */
export function parseAllowNet(value: string, what: string): NetRule[] {
  return value.split(",").map((e) => parseNetRule(e, what));
}

/**
 * Reads the policy key `allow_net`: an array of `HOST[:PORT]` strings. Problems go to `fail` with the index.
 *
 * @example
 * ```ts
 * import { parseAllowNetPolicy } from "./allow.ts";
 * const fail = (p: (string | number)[], m: string): never => {
 *   throw new Error(`allow_net${p.map((x) => `[${x}]`).join("")}: ${m}`);
 * };
 * console.log(parseAllowNetPolicy(["deb.debian.org:80"], fail)[0].port); // 80
 * ```
 */
export function parseAllowNetPolicy(
  v: unknown,
  fail: (path: (string | number)[], message: string) => never,
): NetRule[] {
  if (!Array.isArray(v)) fail([], 'expected an array of "HOST[:PORT]" strings');
  return (v as unknown[]).map((e, i) => {
    if (typeof e !== "string") return fail([i], 'expected a "HOST[:PORT]" string');
    try {
      return parseNetRule(e, "allow_net");
    } catch (err) {
      if (err instanceof UsageError) return fail([i], err.message.replace(/^allow_net: /, ""));
      throw err;
    }
  });
}

/**
 * The policy key `allow_net` as a policy section (src/policy/policy.ts's POLICY_SECTIONS): parsed by
 * {@link parseAllowNetPolicy}, and the lists of included files add up.
 *
 * @example
 * ```ts
 * import { ALLOW_NET_SECTION } from "./allow.ts";
 * console.log(ALLOW_NET_SECTION.merge([], [{ text: "a.test", kind: "name", host: "a.test", port: null }]).length); // 1
 * ```
 */
export const ALLOW_NET_SECTION = {
  /** Validates the value of one file; problems go to the cursor's `fail` with the key path. */
  parse(
    c: { fail(path: (string | number)[], message: string): never },
    path: (string | number)[],
    v: unknown,
  ): NetRule[] {
    return parseAllowNetPolicy(v, (p, m) => c.fail([...path, ...p], m));
  },
  /** An including file's entries after its includes'. */
  merge(base: unknown, next: unknown): NetRule[] {
    return [...(base as NetRule[]), ...(next as NetRule[])];
  },
};

/** The verdict on one request: allowed by a rule, or refused with the rule that decided and why. */
export type NetDecision =
  | { allowed: true; rule: NetRule; host: CanonicalHost }
  | { allowed: false; rule: string; reason: string };

/**
 * Decides a request for `host` (a name or an address, as the client gave it) on `port`: by a rule naming that
 * name (or, for an address, listing that address); a rule of the name on other ports refuses it naming that rule.
 *
 * @example
 * ```ts
 * import { decide, parseAllowNet } from "./allow.ts";
 * const rules = parseAllowNet("*.npmjs.org:443", "--allow-net");
 * console.log(decide(rules, "registry.npmjs.org", 443).allowed, decide(rules, "npmjs.org", 443).allowed); // true false
 * ```
 */
export function decide(rules: readonly NetRule[], host: string, port: number): NetDecision {
  const h = canonicalHost(host);
  if (!h || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { allowed: false, rule: "malformed", reason: `not a host and port: ${JSON.stringify(host)} ${port}` };
  }
  const named = rules.filter((r) =>
    h.kind === "name"
      ? (r.kind === "name" && r.host === h.host) || (r.kind === "wildcard" && h.host.endsWith(`.${r.host}`))
      : r.kind === "address" && r.host === h.host
  );
  if (!named.length) return { allowed: false, rule: "default-deny", reason: `no allow-net entry names ${h.host}` };
  const rule = named.find((r) => r.port === null || r.port === port);
  if (!rule) {
    const ports = named.map((r) => r.port).join(", ");
    return {
      allowed: false,
      rule: named.map((r) => r.text).join(","),
      reason: `${h.host} is allowed on port ${ports}`,
    };
  }
  return { allowed: true, rule, host: h };
}

const V4_SPECIAL: [number[], number, string][] = [
  [[0, 0, 0, 0], 8, "unspecified"],
  [[10, 0, 0, 0], 8, "private"],
  [[100, 64, 0, 0], 10, "shared (carrier-grade NAT)"],
  [[127, 0, 0, 0], 8, "loopback"],
  [[169, 254, 0, 0], 16, "link-local"],
  [[172, 16, 0, 0], 12, "private"],
  [[192, 0, 0, 0], 24, "reserved"],
  [[192, 0, 2, 0], 24, "reserved (documentation)"],
  [[192, 168, 0, 0], 16, "private"],
  [[198, 18, 0, 0], 15, "reserved (benchmarking)"],
  [[198, 51, 100, 0], 24, "reserved (documentation)"],
  [[203, 0, 113, 0], 24, "reserved (documentation)"],
  [[224, 0, 0, 0], 4, "multicast"],
  [[240, 0, 0, 0], 4, "reserved"],
];

const V6_SPECIAL: [number[], number, string][] = [
  [[0x01, 0x00], 64, "reserved (discard)"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "reserved (documentation)"],
  [[0xfc], 7, "private (unique local)"],
  [[0xfe, 0x80], 10, "link-local"],
  [[0xfe, 0xc0], 10, "reserved (site-local)"],
  [[0xff], 8, "multicast"],
];

function inPrefix(bytes: Uint8Array, prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const bit = (b: number) => (b >> (7 - (i % 8))) & 1;
    if (bit(bytes[i >> 3]) !== bit(prefix[i >> 3] ?? 0)) return false;
  }
  return true;
}

/**
 * Why an address is not a public one (`loopback`, `private`, `link-local`, ...), or null for a public address.
 * IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64's well-known prefix) are judged by it.
 *
 * @example
 * ```ts
 * import { addressClass } from "./allow.ts";
 * console.log(addressClass("169.254.169.254"), addressClass("::ffff:10.0.0.1"), addressClass("1.1.1.1")); // link-local private null
 * ```
 */
export function addressClass(address: string): string | null {
  const h = canonicalHost(address);
  if (!h || h.kind === "name") return "not an address";
  const b = h.bytes;
  if (h.kind === "v4") {
    if (b.every((x) => x === 255)) return "broadcast";
    return V4_SPECIAL.find(([p, bits]) => inPrefix(b, p, bits))?.[2] ?? null;
  }
  const zeros = (n: number) => b.subarray(0, n).every((x) => x === 0);
  if (zeros(15) && b[15] <= 1) return b[15] ? "loopback" : "unspecified";
  const embedded = (zeros(10) && b[10] === 0xff && b[11] === 0xff) || zeros(12) ||
    inPrefix(b, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96);
  if (embedded) return addressClass(formatAddress(b.slice(12)));
  return V6_SPECIAL.find(([p, bits]) => inPrefix(b, p, bits))?.[2] ?? null;
}

/**
 * Whether the proxy may connect to `address` for a request the rule `by` allowed on `port`: a public address
 * always; another only when a rule lists it (for `port`), when the request itself named that address, or, for a
 * loopback address, when the rule names `localhost`.
 *
 * @example
 * ```ts
 * import { addressAllowed, parseAllowNet } from "./allow.ts";
 * const rules = parseAllowNet("registry.test:8080,127.0.0.1:8080", "--allow-net");
 * console.log(addressAllowed(rules, rules[0], "127.0.0.1", 8080), addressAllowed(rules, rules[0], "10.0.0.1", 8080)); // true false
 * ```
 */
export function addressAllowed(rules: readonly NetRule[], by: NetRule, address: string, port: number): boolean {
  const cls = addressClass(address);
  if (cls === null || by.kind === "address") return true;
  if (cls === "loopback" && by.kind === "name" && by.host === "localhost") return true;
  const canonical = canonicalHost(address)?.host;
  return rules.some((r) => r.kind === "address" && r.host === canonical && (r.port === null || r.port === port));
}

/**
 * The environment that points a command's HTTP, HTTPS and SOCKS clients at the bridge on `port` (upper and lower
 * case: curl reads only `http_proxy` in lower case), with the sandbox's own loopback left direct.
 *
 * @example
 * ```ts
 * import { proxyEnv } from "./allow.ts";
 * console.log(proxyEnv(3128).find(([k]) => k === "ALL_PROXY")); // ["ALL_PROXY", "socks5h://127.0.0.1:3128"]
 * ```
 */
export function proxyEnv(port: number): [string, string][] {
  const http = `http://127.0.0.1:${port}`, socks = `socks5h://127.0.0.1:${port}`, direct = "localhost,127.0.0.1,::1";
  return [
    ["http_proxy", http],
    ["HTTP_PROXY", http],
    ["https_proxy", http],
    ["HTTPS_PROXY", http],
    ["all_proxy", socks],
    ["ALL_PROXY", socks],
    ["no_proxy", direct],
    ["NO_PROXY", direct],
  ];
}

/**
 * The rules as one line (`registry.npmjs.org:443, *.example.com`), for `-v` and `explain`.
 *
 * @example
 * ```ts
 * import { describeAllowNet, parseAllowNet } from "./allow.ts";
 * console.log(describeAllowNet(parseAllowNet("a.test,b.test:80", "x"))); // a.test, b.test:80
 * ```
 */
export function describeAllowNet(rules: readonly NetRule[]): string {
  return rules.map((r) => r.text).join(", ");
}
