/**
 * {@link Child}: a running sandbox as `Deno.ChildProcess` shapes a running
 * process: `pid`, `stdin`/`stdout`/`stderr` streams, `status`, `output()`,
 * `kill()`, `ref()`/`unref()` and `[Symbol.asyncDispose]`. Pipes are read
 * and written by the native core on worker threads (`hk_read`/`hk_write`);
 * a pipe is closed only when no call on it is in flight, so a closed fd
 * number is never reused under a pending call.
 *
 * @module
 */
import { HakoniwaError } from "./common/errors.ts";
import { describeErrno, type Native } from "./native/ffi.ts";
import type { Report } from "./run/report.ts";
import type { RunningSandbox } from "./run/runner.ts";

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

/** A host fd owned by one stream; at most one call on it at a time. */
class PipeEnd {
  #busy = false;
  #closeWanted = false;
  #closed = false;
  constructor(private native: Native, private fd: number) {}

  get closed(): boolean {
    return this.#closed || this.#closeWanted;
  }

  async #call(op: () => Promise<number | bigint>): Promise<number> {
    if (this.closed) throw new HakoniwaError("the pipe is closed");
    if (this.#busy) throw new HakoniwaError("one call at a time on a pipe");
    this.#busy = true;
    try {
      return Number(await op());
    } finally {
      this.#busy = false;
      if (this.#closeWanted) this.#doClose();
    }
  }

  read(buf: Uint8Array): Promise<number> {
    return this.#call(() => this.native.hk_read(this.fd, buf, BigInt(buf.length)));
  }

  write(buf: Uint8Array): Promise<number> {
    return this.#call(() => this.native.hk_write(this.fd, buf, BigInt(buf.length)));
  }

  /** Closes now, or as soon as the call in flight returns. */
  close() {
    if (this.#closed) return;
    if (this.#busy) this.#closeWanted = true;
    else this.#doClose();
  }

  #doClose() {
    if (this.#closed) return;
    this.#closed = true;
    this.native.hk_close(this.fd);
  }

  error(what: string, errno: number): Error {
    const [code, text] = describeErrno(this.native, errno);
    return new HakoniwaError(`${what}: ${code}: ${text}`);
  }
}

function readable(end: PipeEnd, name: string): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(ctrl) {
      if (end.closed) return;
      const buf = new Uint8Array(CHUNK);
      let n: number;
      try {
        n = await end.read(buf);
      } catch (e) {
        if (end.closed) return; // cancelled while reading
        end.close();
        throw e;
      }
      if (end.closed) return; // cancelled while reading
      if (n > 0) return ctrl.enqueue(buf.slice(0, n));
      end.close();
      if (n === 0) ctrl.close();
      else ctrl.error(end.error(`reading ${name}`, -n));
    },
    cancel() {
      end.close();
    },
  });
}

function writable(end: PipeEnd): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let off = 0; off < chunk.length;) {
        const n = await end.write(chunk.subarray(off));
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

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return concat(parts);
}

/** Reads a pipe to its end, without a stream (what `output()` needs). */
async function drain(end: PipeEnd, name: string): Promise<Uint8Array> {
  if (end.closed) return new Uint8Array(); // read already, as a consumed stream reads nothing more
  const parts: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(CHUNK);
    const n = await end.read(buf);
    if (n === 0) break;
    if (n < 0) {
      end.close();
      throw end.error(`reading ${name}`, -n);
    }
    parts.push(buf.subarray(0, n));
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

  /** Wraps a started sandbox and the parent's ends of its pipes (internal: use `Command.spawn()`). */
  constructor(native: Native, sandbox: RunningSandbox, pipes: ChildPipes, signal?: AbortSignal) {
    this.pid = sandbox.pid;
    this.#sandbox = sandbox;
    const end = (fd: number) => {
      const e = new PipeEnd(native, fd);
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
    const read = (stream: ReadableStream<Uint8Array> | undefined, end: PipeEnd | undefined, name: string) =>
      stream ? collect(stream) : end ? drain(end, name) : undefined;
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
