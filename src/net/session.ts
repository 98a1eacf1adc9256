/**
 * One sandbox's allow-net proxy, as the runner drives it (src/net/): a private directory for the socket, made
 * before the sandbox is spawned (the spec names the socket, which the sandbox binds once released); the proxy,
 * loaded and started while the sandbox is held; and its end with the sandbox, every connection closed, the
 * directory removed and the refusals handed over for the report. The proxy's module (proxy.ts and what it
 * imports) loads only here, only for a plan with an allow list: a run without one never parses it.
 *
 * @module
 */
import type { AllowNetPlan, NetRefusal } from "./allow.ts";
import { HakoniwaError } from "../common/errors.ts";

/** The proxy's class, typed without importing its module at start-up. */
type NetProxy = import("./proxy.ts").NetProxy;

/** Directories of sessions not closed yet: removed when the process exits first (a sandbox left unref'd). */
const LIVE = new Set<string>();
let unloadHooked = false;

function removeLive(): void {
  for (const dir of LIVE) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone already */ }
  }
  LIVE.clear();
}

/**
 * What a session ends with: the refusals (at most 1000), how many more there were, and counts.
 *
 * @example
 * ```ts ignore
 * const { refused, omitted } = await session.close();
 * ```
 */
export interface NetSessionEnd {
  /** The refused connections, in order. */
  refused: NetRefusal[];
  /** Refusals past the kept ones. */
  omitted: number;
  /** Client connections the proxy accepted. */
  connections: number;
}

/**
 * Where a session tells what happens (the runner logs it: refusals at `-v`).
 *
 * @example
 * ```ts ignore
 * const events: NetSessionEvents = { refused: (r) => console.log(r.host), failed: console.log };
 * ```
 */
export interface NetSessionEvents {
  /** A refused connection, as it happens. */
  refused(refusal: NetRefusal): void;
  /** An allowed connection that could not be made. */
  failed(message: string): void;
}

/**
 * A sandbox's proxy, from before the spawn until after the sandbox's end.
 *
 * @example
 * ```ts ignore
 * const session = NetSession.prepare(plan.allowNet);
 * // spawn with SpawnIo.netSocket = session.socket, held; then:
 * await session.start(events);
 * // ... release, wait for the end ...
 * const end = await session.close();
 * ```
 */
export class NetSession {
  /** The host path of the socket (in a directory only the caller can enter). */
  readonly socket: string;
  readonly #dir: string;
  readonly #plan: AllowNetPlan;
  #proxy: NetProxy | null = null;
  #referenced = true;
  #closed = false;

  private constructor(plan: AllowNetPlan, dir: string) {
    this.#plan = plan;
    this.#dir = dir;
    this.socket = `${dir}/net.sock`;
  }

  /**
   * Makes the socket's directory (mode 0700, in `TMPDIR` or /tmp; its real path: the core opens bind sources
   * without following a symlink). Throws a {@link HakoniwaError} when it cannot.
   *
   * @example
   * ```ts ignore
   * const session = NetSession.prepare(plan.allowNet!);
   * ```
   */
  static prepare(plan: AllowNetPlan): NetSession {
    try {
      const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "hakoniwa-net-" }));
      LIVE.add(dir);
      if (!unloadHooked) {
        unloadHooked = true;
        globalThis.addEventListener("unload", removeLive);
      }
      return new NetSession(plan, dir);
    } catch (e) {
      throw new HakoniwaError(
        `network: cannot make a directory for the allow-net proxy's socket: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
  }

  /**
   * Loads the proxy and listens on the socket; rejects with a {@link HakoniwaError} when it cannot (the sandbox must
   * then not run: exit 125).
   */
  async start(events: NetSessionEvents): Promise<void> {
    const { NetProxy } = await import(new URL("./proxy.ts", import.meta.url).href) as typeof import("./proxy.ts");
    if (this.#closed) return;
    try {
      this.#proxy = NetProxy.listen({
        rules: this.#plan.rules,
        socket: this.socket,
        onRefused: events.refused,
        onFailed: events.failed,
      });
    } catch (e) {
      throw new HakoniwaError(
        `network: cannot start the allow-net proxy on ${this.socket}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    if (!this.#referenced) this.#proxy.unref();
  }

  /** Lets the process exit while the proxy runs (the sandbox dies with it). */
  unref(): void {
    this.#referenced = false;
    this.#proxy?.unref();
  }

  /** Keeps the process alive while the proxy runs (the default). */
  ref(): void {
    this.#referenced = true;
    this.#proxy?.ref();
  }

  /** Stops the proxy, closes its connections and removes the directory; idempotent. */
  async close(): Promise<NetSessionEnd> {
    this.#closed = true;
    const proxy = this.#proxy;
    this.#proxy = null;
    await proxy?.close();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    LIVE.delete(this.#dir);
    return { refused: proxy?.refused ?? [], omitted: proxy?.omitted ?? 0, connections: proxy?.stats.connections ?? 0 };
  }
}
