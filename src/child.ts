/**
 * {@link Child}: a running sandbox as `Deno.ChildProcess` shapes a running
 * process: `pid`, `stdin`/`stdout`/`stderr` streams, `status`, `output()`,
 * `kill()`, `ref()`/`unref()` and `[Symbol.asyncDispose]`. The caller's ends
 * of the pipes are non-blocking and wait in the process's one event loop
 * (src/run/reactor.ts): any number of sandboxes in flight, each stream read
 * and written in whatever order the caller likes, with backpressure (a slow
 * reader slows the command down; nothing is lost).
 *
 * @module
 */
import { HakoniwaError } from "./common/errors.ts";
import { describeErrno, type Native } from "./native/ffi.ts";
import type { Report } from "./run/report.ts";
import type { RunningSandbox } from "./run/runner.ts";
import { Reactor, type Readiness } from "./run/reactor.ts";

/**
 * How the sandbox ended: its {@link Report} plus the `Deno.CommandStatus` fields.
 *
 * @example
 * ```ts ignore
 * const { success, code, status, realTimeMs } = await child.status;
 * ```
 */
export interface ChildStatus extends Report {
  /** Whether the command exited with code 0. */
  success: boolean;
  /** The exit code as a shell sees it (`exitCode`): the code, 128+N for signal N. */
  code: number;
}

/**
 * What {@link Child.output} and `Command.output()` return.
 *
 * @example
 * ```ts ignore
 * const { code, success, signal, stdout, stderr, report } = await command.output();
 * ```
 */
export interface CommandOutput extends ChildStatus {
  /** Everything the command wrote to stdout (throws when stdout was not `"piped"`). */
  readonly stdout: Uint8Array;
  /** Everything the command wrote to stderr (throws when stderr was not `"piped"`). */
  readonly stderr: Uint8Array;
  /** The full report of the run. */
  report: Report;
}

const CHUNK = 64 * 1024;
const EAGAIN = 11, EPIPE = 32;

/**
 * The caller's end of one pipe, non-blocking: a read or write that would block waits for the fd in the process's
 * one event loop (src/run/reactor.ts), so no thread is held per pipe. One call at a time.
 */
class PipeEnd {
  #busy = false;
  #closed = false;
  constructor(private native: Native, private reactor: Reactor, private fd: number) {}

  get closed(): boolean {
    return this.#closed;
  }

  async #call(what: Readiness, op: () => number | bigint): Promise<number> {
    if (this.#busy) throw new HakoniwaError("one call at a time on a pipe");
    this.#busy = true;
    try {
      for (;;) {
        if (this.#closed) return 0;
        const n = Number(op());
        if (n !== -EAGAIN) return n;
        await this.reactor.ready(this.fd, what);
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Bytes read (> 0), 0 at the end (or once closed), -errno. */
  read(buf: Uint8Array): Promise<number> {
    return this.#call("read", () => this.native.hk_try_read(this.fd, buf, BigInt(buf.length)));
  }

  /** Bytes written (> 0), 0 once closed, -errno. */
  write(buf: Uint8Array): Promise<number> {
    return this.#call("write", () => this.native.hk_try_write(this.fd, buf, BigInt(buf.length)));
  }

  /** Closes now; a call waiting on it returns 0. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.reactor.forget(this.fd);
    this.native.hk_close(this.fd);
  }

  error(what: string, errno: number): Error {
    const [code, text] = describeErrno(this.native, errno);
    return new HakoniwaError(`${what}: ${code}: ${text}`);
  }
}

/** A chunk of `n` bytes read into `buf`: the buffer itself when mostly full, else a copy that fits. */
function chunkOf(buf: Uint8Array<ArrayBuffer>, n: number): Uint8Array<ArrayBuffer> {
  return n >= buf.length / 2 ? buf.subarray(0, n) : buf.slice(0, n);
}

function readable(end: PipeEnd, name: string): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(ctrl) {
      if (end.closed) return;
      const buf = new Uint8Array(CHUNK);
      const n = await end.read(buf);
      if (end.closed) return; // cancelled while reading
      if (n > 0) return ctrl.enqueue(chunkOf(buf, n));
      end.close();
      if (n === 0) ctrl.close();
      else ctrl.error(end.error(`reading ${name}`, -n));
    },
    cancel() {
      end.close();
    },
  });
}

/**
 * The command's stdin. Backpressure: a write resolves once the pipe took every byte. When the command closed
 * its stdin or is gone (EPIPE), the stream ends quietly and later bytes are dropped, as a shell's pipe would
 * drop them: that is the command's choice, not the caller's error.
 */
function writable(end: PipeEnd): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let off = 0; off < chunk.length && !end.closed;) {
        const n = await end.write(chunk.subarray(off));
        if (n === -EPIPE) return end.close();
        if (n < 0) {
          end.close();
          throw end.error("writing stdin", -n);
        }
        off += n;
      }
    },
    close() {
      end.close();
    },
    abort() {
      end.close();
    },
  });
}

/** The parts as one array. */
function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/** Reads a stream to its end, keeping at most `cap` bytes: past them `overflow` is called and the stream cancelled. */
async function collect(stream: ReadableStream<Uint8Array>, cap: number, overflow: () => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of stream) {
    if (total + part.length > cap) {
      parts.push(part.subarray(0, cap - total));
      overflow();
      break; // cancels the stream
    }
    parts.push(part);
    total += part.length;
  }
  return concat(parts);
}

/**
 * Reads a pipe to its end, without a stream (what `output()` needs), keeping at most `cap` bytes: past them
 * `overflow` is called and reading stops.
 */
async function drain(end: PipeEnd, name: string, cap: number, overflow: () => void): Promise<Uint8Array> {
  if (end.closed) return new Uint8Array(); // read already, as a consumed stream reads nothing more
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const buf = new Uint8Array(CHUNK);
    const n = await end.read(buf);
    if (n === 0) break;
    if (n < 0) {
      end.close();
      throw end.error(`reading ${name}`, -n);
    }
    if (total + n > cap) {
      parts.push(buf.subarray(0, cap - total));
      overflow();
      break;
    }
    parts.push(chunkOf(buf, n));
    total += n;
  }
  end.close();
  return concat(parts);
}

function notPiped(name: string): never {
  throw new TypeError(`${name} is not piped: set the ${name} option to "piped"`);
}

/**
 * Host fds of the parent's ends of the pipes, for those that are piped.
 *
 * @example
 * ```ts ignore
 * new Child(native, sandbox, { stdout: readEnd }, signal);
 * ```
 */
export interface ChildPipes {
  /** Write end of the command's stdin. */
  stdin?: number;
  /** Read end of the command's stdout. */
  stdout?: number;
  /** Read end of the command's stderr. */
  stderr?: number;
}

/**
 * A running sandbox, made by `Command.spawn()`. `status` resolves with the
 * report once every process of the sandbox is gone, or rejects with the
 * `SetupError` when setup failed and the command never ran.
 *
 * @example
 * ```ts ignore
 * import { Container } from "jsr:@hakoniwa/cli";
 * await using child = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib")
 *   .command("cat", { stdin: "piped", stdout: "piped" }).spawn();
 * const w = child.stdin.getWriter();
 * await w.write(new TextEncoder().encode("hi"));
 * await w.close();
 * const { stdout } = await child.output();
 * ```
 */
export class Child implements AsyncDisposable {
  /** pid of the sandbox's init (PID 1 inside), in the caller's pid namespace. */
  readonly pid: number;
  /** Resolves with the report when the sandbox is gone; rejects with a `SetupError` when setup failed. */
  readonly status: Promise<ChildStatus>;
  #sandbox: RunningSandbox;
  // The streams are made on first use: output() reads the pipes without them (a first stream costs a cold
  // process ~2 ms).
  #stdin?: WritableStream<Uint8Array>;
  #stdout?: ReadableStream<Uint8Array<ArrayBuffer>>;
  #stderr?: ReadableStream<Uint8Array<ArrayBuffer>>;
  #inEnd?: PipeEnd;
  #outEnd?: PipeEnd;
  #errEnd?: PipeEnd;
  #ends: PipeEnd[] = [];
  #done = false;
  #maxOutput: number;
  /** The stream that went past `maxOutput`, once one did. */
  #overflowed: "stdout" | "stderr" | null = null;

  /**
   * Wraps a started sandbox and the parent's ends of its pipes (internal: use `Command.spawn()`). `maxOutput`:
   * the most bytes `output()` keeps of each stream (see `CommandOptions.maxOutput`).
   */
  constructor(native: Native, sandbox: RunningSandbox, pipes: ChildPipes, signal?: AbortSignal, maxOutput = Infinity) {
    this.pid = sandbox.pid;
    this.#sandbox = sandbox;
    this.#maxOutput = maxOutput;
    const reactor = Reactor.of(native);
    const end = (fd: number) => {
      const e = new PipeEnd(native, reactor, fd);
      this.#ends.push(e);
      return e;
    };
    if (pipes.stdin !== undefined) this.#inEnd = end(pipes.stdin);
    if (pipes.stdout !== undefined) this.#outEnd = end(pipes.stdout);
    if (pipes.stderr !== undefined) this.#errEnd = end(pipes.stderr);
    const stdinEnd = this.#inEnd;
    const onAbort = () => this.#sandbox.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    const ended = () => {
      this.#done = true;
      signal?.removeEventListener("abort", onAbort);
      // Nobody reads stdin any more: release the write end (later writes fail).
      stdinEnd?.close();
    };
    this.status = sandbox.finished.finally(ended).then((report) => {
      if (report.status === "SE") throw report.error ?? new HakoniwaError(report.reason);
      if (this.#overflowed) {
        // output() killed it for its output limit: that is the verdict, whatever signal ended the command.
        report = {
          ...report,
          status: "OLE",
          reason: `${this.#overflowed} exceeded the output limit of ${maxOutput} bytes`,
        };
      }
      return { ...report, success: report.exitCode === 0, code: report.exitCode };
    });
    // A caller that only reads streams must not see an unhandled rejection.
    this.status.catch(() => {});
  }

  /** The command's stdin (throws unless the stdin option was `"piped"`). */
  get stdin(): WritableStream<Uint8Array> {
    if (!this.#inEnd) notPiped("stdin");
    return this.#stdin ??= writable(this.#inEnd);
  }

  /** The command's stdout (throws unless the stdout option was `"piped"`). */
  get stdout(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (!this.#outEnd) notPiped("stdout");
    return this.#stdout ??= readable(this.#outEnd, "stdout");
  }

  /** The command's stderr (throws unless the stderr option was `"piped"`). */
  get stderr(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (!this.#errEnd) notPiped("stderr");
    return this.#stderr ??= readable(this.#errEnd, "stderr");
  }

  /**
   * Waits for the sandbox and collects the piped stdout and stderr. Rejects
   * with the `SetupError` when setup failed.
   */
  async output(): Promise<CommandOutput> {
    if (this.#stdout?.locked || this.#stderr?.locked) {
      throw new TypeError("output() needs stdout and stderr unread: they are locked by a reader");
    }
    const overflow = (name: "stdout" | "stderr") => () => {
      if (this.#overflowed) return;
      this.#overflowed = name;
      this.#sandbox.kill("SIGKILL");
    };
    const cap = this.#maxOutput;
    const read = (
      stream: ReadableStream<Uint8Array> | undefined,
      end: PipeEnd | undefined,
      name: "stdout" | "stderr",
    ) => stream ? collect(stream, cap, overflow(name)) : end ? drain(end, name, cap, overflow(name)) : undefined;
    const [out, err, status] = await Promise.allSettled([
      read(this.#stdout, this.#outEnd, "stdout"),
      read(this.#stderr, this.#errEnd, "stderr"),
      this.status,
    ]);
    if (status.status === "rejected") throw status.reason;
    if (out.status === "rejected") throw out.reason;
    if (err.status === "rejected") throw err.reason;
    const { value: report } = status;
    const result = { ...report, report } as unknown as CommandOutput;
    Object.defineProperty(result, "stdout", {
      enumerable: true,
      get: () => out.value ?? notPiped("stdout"),
    });
    Object.defineProperty(result, "stderr", {
      enumerable: true,
      get: () => err.value ?? notPiped("stderr"),
    });
    return result;
  }

  /**
   * Sends a signal: init forwards it to the command; `SIGKILL` ends the
   * whole sandbox at once. Does nothing once the sandbox is gone.
   */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (!this.#done) this.#sandbox.kill(signal);
  }

  /** Makes the sandbox keep the process alive again (the default). */
  ref(): void {
    this.#sandbox.ref();
  }

  /**
   * Lets the Deno process exit while the sandbox still runs. Unlike a
   * plain child process, the sandbox does not outlive the process: its
   * init has a parent-death signal and everything inside dies with it.
   */
  unref(): void {
    this.#sandbox.unref();
  }

  /** Kills the whole sandbox if it still runs, waits for it and closes every pipe. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#done) this.#sandbox.kill("SIGKILL");
    await this.status.catch(() => {});
    for (const s of [this.#stdout, this.#stderr]) {
      if (s && !s.locked) await s.cancel().catch(() => {});
    }
    for (const e of this.#ends) e.close();
  }
}
