/**
 * The allow-net proxy (src/net/): runs in the launcher, on a unix socket that is bound into the sandbox (the
 * sandbox's bridge joins 127.0.0.1:3128 inside to it, native/relay.c), and opens for the sandbox only the
 * connections its rules allow. HTTP (plain requests and CONNECT) and SOCKS5 are told apart by the first byte.
 *
 * Every connection is decided by the name the client asked for (allow.ts), the name is resolved here on the host
 * side (resolve.ts), non-public addresses are refused unless listed, and the proxy connects to an address it
 * checked (no second lookup that could answer otherwise). Bounded: at most {@link MAX_CONNECTIONS} client
 * connections at once (more are closed at once, and recorded), a request head of at most 16 KiB read within
 * {@link HEAD_TIMEOUT_MS}, two 16 KiB buffers a tunnel, and at most {@link MAX_REFUSALS} refusals kept (the rest
 * counted). Loaded only when a sandbox has an allow list (src/net/session.ts imports it at run time).
 *
 * @module
 */
import { addressAllowed, addressClass, decide, type NetRefusal, type NetRule } from "./allow.ts";
import { defaultResolver, type Resolver } from "./resolve.ts";
import { Inbound, type OpenResult, type ProxyContext } from "./proxy_io.ts";
import { serveHttp } from "./proxy_http.ts";
import { serveSocks } from "./proxy_socks.ts";

/** The most client connections served at once. */
export const MAX_CONNECTIONS = 128;
/** The most refusals kept in full; later ones are only counted. */
export const MAX_REFUSALS = 1000;
/** How long a client has to send its request head. */
export const HEAD_TIMEOUT_MS = 10_000;
/** How long a connection to one address may take. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * How to run a proxy.
 *
 * @example
 * ```ts ignore
 * const options: ProxyOptions = { rules: parseAllowNet("deb.debian.org", "x"), socket: "/tmp/d/net.sock" };
 * ```
 */
export interface ProxyOptions {
  /** The allow list. */
  rules: readonly NetRule[];
  /** The unix socket path to listen on (its directory is the caller's, private). */
  socket: string;
  /** How names are resolved (default: {@link defaultResolver}). */
  resolver?: Resolver;
  /** The most client connections at once (default {@link MAX_CONNECTIONS}). */
  maxConnections?: number;
  /** Told of each refusal as it happens (the CLI logs it at `-v`). */
  onRefused?: (refusal: NetRefusal) => void;
  /** Told of each allowed connection that could not be made (a name that does not resolve, a refused connect). */
  onFailed?: (message: string) => void;
}

/**
 * Counts of a proxy's work.
 *
 * @example
 * ```ts ignore
 * console.log(proxy.stats.connections, proxy.stats.peak);
 * ```
 */
export interface ProxyStats {
  /** Client connections accepted. */
  connections: number;
  /** Client connections being served now. */
  active: number;
  /** The most served at once. */
  peak: number;
  /** Upstream connections opened. */
  opened: number;
}

/**
 * A running allow-net proxy. {@link NetProxy.close} stops it and closes every connection it holds.
 *
 * @example
 * ```ts ignore
 * import { NetProxy } from "./proxy.ts";
 * import { parseAllowNet } from "./allow.ts";
 * const proxy = NetProxy.listen({ rules: parseAllowNet("deb.debian.org:80", "x"), socket: `${dir}/net.sock` });
 * // ... the sandbox runs ...
 * await proxy.close();
 * console.log(proxy.refused);
 * ```
 */
export class NetProxy {
  /** The refusals, in order (at most {@link MAX_REFUSALS}). */
  readonly refused: NetRefusal[] = [];
  /** How many refusals were not kept. */
  omitted = 0;
  /** Counts. */
  readonly stats: ProxyStats = { connections: 0, active: 0, peak: 0, opened: 0 };
  readonly #options: ProxyOptions;
  readonly #resolver: Resolver;
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #closed = false;
  #referenced = true;

  private constructor(options: ProxyOptions) {
    this.#options = options;
    this.#resolver = options.resolver ?? defaultResolver();
    this.#listener = Deno.listen({ transport: "unix", path: options.socket });
    // Any uid of the sandbox may use the socket inside; on the host it lies in the caller's private directory.
    Deno.chmodSync(options.socket, 0o666);
    this.#accepting = this.#accept();
  }

  /**
   * Starts a proxy listening on `options.socket`. Throws what Deno.listen throws (the path exists, permissions).
   *
   * @example
   * ```ts ignore
   * const proxy = NetProxy.listen({ rules, socket: "/run/user/1000/hakoniwa-net-x/net.sock" });
   * ```
   */
  static listen(options: ProxyOptions): NetProxy {
    return new NetProxy(options);
  }

  /** Lets the process exit while the proxy runs (the sandbox then dies with it). */
  unref(): void {
    this.#referenced = false;
    this.#listener.unref();
    for (const c of this.#conns) c.unref();
  }

  /** Keeps the process alive while the proxy runs (the default). */
  ref(): void {
    this.#referenced = true;
    this.#listener.ref();
    for (const c of this.#conns) c.ref();
  }

  /** Stops accepting, closes every connection and waits until every connection's work has ended. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* closed already */ }
    for (const c of this.#conns) closeQuietly(c);
    await this.#accepting;
    await Promise.allSettled([...this.#tasks]);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      if (this.#closed) {
        closeQuietly(conn);
        return;
      }
      this.#serve(conn);
    }
  }

  #record(refusal: NetRefusal): void {
    if (this.refused.length < MAX_REFUSALS) this.refused.push(refusal);
    else this.omitted++;
    this.#options.onRefused?.(refusal);
  }

  #track(conn: Deno.Conn): void {
    this.#conns.add(conn);
    if (!this.#referenced) conn.unref();
  }

  #serve(client: Deno.Conn): void {
    this.stats.connections++;
    if (this.stats.active >= (this.#options.maxConnections ?? MAX_CONNECTIONS)) {
      closeQuietly(client);
      this.#record({
        time: new Date(),
        host: "",
        port: 0,
        protocol: "unknown",
        rule: "connection-limit",
        reason: `more than ${this.#options.maxConnections ?? MAX_CONNECTIONS} connections at once`,
      });
      return;
    }
    this.stats.active++;
    this.stats.peak = Math.max(this.stats.peak, this.stats.active);
    const owned = [client];
    this.#track(client);
    const deadline = setTimeout(() => closeQuietly(client), HEAD_TIMEOUT_MS);
    if (!this.#referenced) Deno.unrefTimer(deadline);
    const ctx: ProxyContext = {
      open: async (host, port, protocol) => {
        const r = await this.#open(host, port, protocol);
        if (r.ok) {
          owned.push(r.conn);
          this.#track(r.conn);
          if (this.#closed) closeQuietly(r.conn);
        }
        return r;
      },
      refuse: (host, port, protocol, rule, reason) =>
        this.#record({ time: new Date(), host, port, protocol, rule, reason }),
      headDone: () => clearTimeout(deadline),
    };
    const task = (async () => {
      const inbound = new Inbound(client);
      if (!(await inbound.need(1))) return;
      await (inbound.data[0] === 5 ? serveSocks(ctx, inbound) : serveHttp(ctx, inbound));
    })().catch(() => {/* a connection that fails ends; the others go on */}).finally(() => {
      clearTimeout(deadline);
      for (const c of owned) {
        closeQuietly(c);
        this.#conns.delete(c);
      }
      this.stats.active--;
      this.#tasks.delete(task);
    });
    this.#tasks.add(task);
  }

  async #open(host: string, port: number, protocol: NetRefusal["protocol"]): Promise<OpenResult> {
    const refuse = (rule: string, reason: string): OpenResult => {
      const refusal = { time: new Date(), host, port, protocol, rule, reason };
      this.#record(refusal);
      return { ok: false, kind: "refused", refusal };
    };
    const fail = (status: "resolve" | "connect" | "timeout", message: string): OpenResult => {
      this.#options.onFailed?.(message);
      return { ok: false, kind: "failed", status, message };
    };
    const d = decide(this.#options.rules, host, port);
    if (!d.allowed) return refuse(d.rule, d.reason);
    let addresses: string[];
    try {
      addresses = d.host.kind === "name" ? await this.#resolver.resolve(d.host.host) : [d.host.host];
    } catch (e) {
      return fail("resolve", `cannot resolve ${d.host.host} (${this.#resolver.source}): ${messageOf(e)}`);
    }
    if (!addresses.length) return fail("resolve", `${d.host.host} does not resolve (${this.#resolver.source})`);
    const usable = addresses.filter((a) => addressAllowed(this.#options.rules, d.rule, a, port));
    if (!usable.length) {
      const a = addresses[0];
      return refuse(
        "private-address",
        `${d.host.host} resolves to ${a}, a ${addressClass(a)} address no allow-net entry lists (list ${
          a.includes(":") ? `[${a}]` : a
        }:${port} to allow it)`,
      );
    }
    let last: unknown = null;
    for (const address of usable) {
      if (this.#closed) break;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), CONNECT_TIMEOUT_MS);
      try {
        const conn = await Deno.connect({ hostname: address, port, signal: ac.signal, autoSelectFamily: false });
        this.stats.opened++;
        return { ok: true, conn, address };
      } catch (e) {
        last = ac.signal.aborted ? new Error(`no answer in ${CONNECT_TIMEOUT_MS / 1000} s`) : e;
      } finally {
        clearTimeout(timer);
      }
    }
    return fail(
      last instanceof Error && /no answer/.test(last.message) ? "timeout" : "connect",
      `cannot connect to ${d.host.host}:${port} (${usable.join(", ")}): ${messageOf(last)}`,
    );
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
