/**
 * Name resolution on the host side for the allow-net proxy (src/net/): a name to its addresses, as the host
 * resolves it (its hosts file, then DNS through its resolv.conf), or from one hosts(5) file only when
 * `HAKONIWA_NET_HOSTS` names one (to pin a registry's address, and for tests on machines without DNS).
 *
 * @module
 */
import { canonicalHost } from "./allow.ts";
import { readHostTextSync } from "../native/safe_open.ts";

/**
 * Resolves names to addresses.
 *
 * @example
 * ```ts
 * import { hostsResolver } from "./resolve.ts";
 * const r: import("./resolve.ts").Resolver = hostsResolver("127.0.0.1 registry.test\n", "test");
 * console.log(await r.resolve("registry.test")); // ["127.0.0.1"]
 * ```
 */
export interface Resolver {
  /** Where names come from, for messages. */
  readonly source: string;
  /** The addresses of `name` (IPv4 first, canonical text, no duplicates); empty when it has none. */
  resolve(name: string): Promise<string[]>;
}

/**
 * Parses a hosts(5) file: `ADDRESS NAME [ALIAS...]` per line, `#` comments. Names in lower case without a
 * trailing dot; addresses in canonical text; lines whose address is not one are skipped.
 *
 * @example
 * ```ts
 * import { parseHosts } from "./resolve.ts";
 * console.log(parseHosts("127.0.0.1 a.test b.test # x\n::1 a.test\n").get("a.test")); // ["127.0.0.1", "::1"]
 * ```
 */
export function parseHosts(text: string): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const [address, ...aliases] = line.replace(/#.*/, "").trim().split(/\s+/);
    const a = address ? canonicalHost(address) : null;
    if (!a || a.kind === "name") continue;
    for (const alias of aliases) {
      const n = canonicalHost(alias);
      if (n?.kind !== "name") continue;
      const list = names.get(n.host) ?? [];
      if (!list.includes(a.host)) list.push(a.host);
      names.set(n.host, list);
    }
  }
  return names;
}

function ordered(addresses: string[]): string[] {
  const unique = [...new Set(addresses)];
  return [...unique.filter((a) => !a.includes(":")), ...unique.filter((a) => a.includes(":"))];
}

/**
 * A resolver that knows only the names of one hosts file's text.
 *
 * @example
 * ```ts
 * import { hostsResolver } from "./resolve.ts";
 * console.log(await hostsResolver("10.0.0.1 a.test\n", "a file").resolve("b.test")); // []
 * ```
 */
export function hostsResolver(text: string, source: string): Resolver {
  const names = parseHosts(text);
  return { source, resolve: (name) => Promise.resolve(ordered(names.get(name.toLowerCase()) ?? [])) };
}

function readHosts(path: string): string {
  return readHostTextSync(path, 1 << 20); // a hosts file of more than 1 MiB is refused
}

/**
 * The host's way: /etc/hosts (read once), then DNS queries for A and AAAA records to the servers of
 * /etc/resolv.conf, `timeoutMs` at most.
 *
 * @example
 * ```ts ignore
 * import { systemResolver } from "./resolve.ts";
 * console.log(await systemResolver().resolve("deb.debian.org"));
 * ```
 */
export function systemResolver(timeoutMs = 5000): Resolver {
  let hosts: Map<string, string[]>;
  try {
    hosts = parseHosts(readHosts("/etc/hosts"));
  } catch {
    hosts = new Map();
  }
  return {
    source: "/etc/hosts and DNS",
    async resolve(name) {
      const known = hosts.get(name.toLowerCase());
      if (known) return ordered(known);
      const signal = AbortSignal.timeout(timeoutMs);
      const [a, aaaa] = await Promise.all(
        (["A", "AAAA"] as const).map((t) => Deno.resolveDns(name, t, { signal }).catch(() => [] as string[])),
      );
      return ordered([...a, ...aaaa].flatMap((x) => canonicalHost(x)?.host ?? []));
    },
  };
}

/**
 * The proxy's resolver: the hosts file `HAKONIWA_NET_HOSTS` names, and nothing else, when it is set (read once;
 * an unreadable file is an error), else {@link systemResolver}.
 *
 * @example
 * ```ts ignore
 * import { defaultResolver } from "./resolve.ts";
 * const r = defaultResolver(); // HAKONIWA_NET_HOSTS=/srv/pinned-hosts: only the names it lists
 * ```
 */
export function defaultResolver(hostsFile: string | undefined = Deno.env.get("HAKONIWA_NET_HOSTS")): Resolver {
  if (!hostsFile) return systemResolver();
  return hostsResolver(readHosts(hostsFile), `HAKONIWA_NET_HOSTS=${hostsFile}`);
}
