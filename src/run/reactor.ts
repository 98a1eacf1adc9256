/**
 * The one event loop of every sandbox in a process (native/reactor.c): the
 * caller's ends of the stdio pipes and the monitors' pidfds are armed in one
 * epoll set, and a single `hk_reactor_wait` runs on Deno's blocking pool at a
 * time. Deno gives that pool 32 threads: a pipe read or a wait per thread
 * stalls every sandbox once a few dozen are in flight, while here hundreds
 * share one thread. Reads and writes happen on the JS thread, without
 * blocking, once an fd is ready.
 *
 * The pending wait keeps the process alive only while someone waits with
 * `ref` (see `Child.unref()`).
 *
 * @module
 */
import { WANT } from "../generated/abi.js";
import { HakoniwaError } from "../common/errors.ts";
import { describeErrno, type Native } from "../native/ffi.ts";

/** What an fd is waited for. */
export type Readiness = "read" | "write";

const BATCH = 64, EVENT_SIZE = 16;

// Deno's internal op table: the only way to unref a pending FFI call's promise.
const internalCore = (() => {
  try {
    // deno-lint-ignore no-explicit-any
    const core = (Deno as any)[(Deno as any).internal]?.core;
    return typeof core?.unrefOpPromise === "function" && typeof core?.refOpPromise === "function"
      ? core as { unrefOpPromise(p: Promise<unknown>): void; refOpPromise(p: Promise<unknown>): void }
      : null;
  } catch {
    return null;
  }
})();

/** Whether a wait can be kept from holding the process alive (`unref`); false on a Deno without the op table. */
export const CAN_UNREF: boolean = internalCore !== null;

interface Waiter {
  fd: number;
  ref: boolean;
  resolve(): void;
}

/**
 * The process's event loop over sandbox fds.
 *
 * @example
 * ```ts ignore
 * const reactor = Reactor.of(native);
 * await reactor.ready(fd, "read"); // then hk_try_read(fd, ...) does not block
 * ```
 */
export class Reactor {
  static #instance: Reactor | undefined;
  readonly #native: Native;
  readonly #ep: number;
  readonly #wake: number;
  readonly #waiters = new Map<bigint, Waiter>();
  readonly #tokens = new Map<number, bigint>();
  readonly #events = new Uint8Array(BATCH * EVENT_SIZE);
  #next = 1n;
  #refs = 0;
  #pending: Promise<number> | null = null;

  private constructor(native: Native) {
    this.#native = native;
    const fds = new Int32Array(2);
    const rc = native.hk_reactor_open(fds);
    if (rc < 0) throw new HakoniwaError(`the event loop cannot start: ${describeErrno(native, -rc).join(": ")}`);
    [this.#ep, this.#wake] = fds;
  }

  /** The process's reactor (made on first use). */
  static of(native: Native): Reactor {
    return Reactor.#instance ??= new Reactor(native);
  }

  /**
   * Resolves once `fd` is ready for `what` (or at its end, or on an error,
   * which the next read or write then reports). One wait per fd at a time.
   * `ref: false` lets the process exit while this is the only wait.
   */
  ready(fd: number, what: Readiness, ref = true): Promise<void> {
    if (this.#tokens.has(fd)) return Promise.reject(new HakoniwaError(`fd ${fd} is waited for already`));
    const token = this.#next++;
    const rc = this.#native.hk_reactor_arm(this.#ep, fd, what === "read" ? WANT.READ : WANT.WRITE, token);
    if (rc < 0) {
      return Promise.reject(new HakoniwaError(`watching fd ${fd}: ${describeErrno(this.#native, -rc).join(": ")}`));
    }
    return new Promise<void>((resolve) => {
      this.#waiters.set(token, { fd, ref, resolve });
      this.#tokens.set(fd, token);
      if (ref) this.#refs++;
      this.#loop();
      this.#applyRef();
    });
  }

  /** Whether a wait on `fd` keeps the process alive. */
  setRef(fd: number, ref: boolean): void {
    const w = this.#waiterOf(fd);
    if (!w || w.ref === ref) return;
    w.ref = ref;
    this.#refs += ref ? 1 : -1;
    this.#applyRef();
  }

  /** Stops watching `fd` before it is closed; a wait on it resolves (the caller then sees the fd closed). */
  forget(fd: number): void {
    this.#native.hk_reactor_forget(this.#ep, fd);
    const token = this.#tokens.get(fd);
    if (token === undefined) return;
    this.#settle(token);
    // The loop's wait is woken so that it ends when nothing is left to wait for.
    if (this.#waiters.size === 0 && this.#pending) this.#native.hk_reactor_wake(this.#wake);
  }

  #waiterOf(fd: number): Waiter | undefined {
    const token = this.#tokens.get(fd);
    return token === undefined ? undefined : this.#waiters.get(token);
  }

  #settle(token: bigint) {
    const w = this.#waiters.get(token);
    if (!w) return; // forgotten meanwhile: a late event of a closed fd
    this.#waiters.delete(token);
    this.#tokens.delete(w.fd);
    if (w.ref) this.#refs--;
    w.resolve();
  }

  #applyRef() {
    if (!this.#pending || !internalCore) return;
    if (this.#refs > 0) internalCore.refOpPromise(this.#pending);
    else internalCore.unrefOpPromise(this.#pending);
  }

  async #loop() {
    if (this.#pending) return;
    while (this.#waiters.size > 0) {
      this.#pending = this.#native.hk_reactor_wait(this.#ep, this.#events, BATCH, -1);
      this.#applyRef();
      const n = await this.#pending;
      this.#pending = null;
      if (n < 0) throw new HakoniwaError(`the event loop failed: ${describeErrno(this.#native, -n).join(": ")}`);
      const view = new DataView(this.#events.buffer);
      for (let i = 0; i < n; i++) {
        const token = view.getBigUint64(i * EVENT_SIZE, true);
        if (token === 0n) this.#native.hk_reactor_drain(this.#wake);
        else this.#settle(token);
      }
    }
  }
}
