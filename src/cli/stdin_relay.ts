/**
 * A stdin the command may read but not reopen. Given the caller's own fd 0
 * when it is a regular file (or a device other than a terminal), the
 * payload could reopen it through /proc/self/fd/0 for writing and change
 * the file. Such a stdin is relayed through a pipe instead: the command
 * reads the same bytes, and /proc/self/fd/0 is only a pipe.
 *
 * @module
 */
import { loadNative, type Native } from "../native/ffi.ts";

/** A running relay from the caller's stdin to the command's. */
export interface StdinRelay {
  /** The pipe's read end: the command's stdin. */
  readonly fd: number;
  /** Closes this process's copy of the read end (the sandbox holds its own) and starts relaying. */
  start(): void;
  /** Stops relaying and closes what is left. */
  stop(): void;
}

/**
 * Whether `fd` (0 for stdin) may be given to the command as it is: a pipe,
 * a socket or a terminal, which cannot be reopened into anything more.
 *
 * @example
 * ```ts ignore
 * if (!passesAsIs(0)) console.log("stdin is relayed");
 * ```
 */
export function passesAsIs(fd: number): boolean {
  try {
    const st = Deno.statSync(`/proc/self/fd/${fd}`);
    if (st.isFifo || st.isSocket) return true;
  } catch {
    return true; // closed or unknowable: nothing to reopen
  }
  return fd === 0 ? Deno.stdin.isTerminal() : false;
}

/**
 * A relay for the caller's stdin when it must not pass as it is (see
 * {@link passesAsIs}), else null.
 *
 * @example
 * ```ts ignore
 * const relay = await stdinRelay();
 * const sandbox = await startSandbox(plan, { stdio: [relay?.fd ?? 0, 1, 2], session: "new", setgroups: false });
 * relay?.start();
 * await sandbox.finished;
 * relay?.stop();
 * ```
 */
export async function stdinRelay(nativePath?: string): Promise<StdinRelay | null> {
  if (passesAsIs(0)) return null;
  const native = await loadNative(nativePath);
  const fds = new Int32Array(2);
  const rc = native.hk_pipe(fds);
  if (rc < 0) throw new Error(`stdin relay: pipe: errno ${-rc}`);
  const [readEnd, writeEnd] = fds;
  let stopped = false, writeOpen = true, readOpen = true;
  const closeWrite = () => {
    if (writeOpen) native.hk_close(writeEnd);
    writeOpen = false;
  };
  return {
    fd: readEnd,
    start() {
      if (readOpen) native.hk_close(readEnd);
      readOpen = false;
      pump(native, writeEnd, () => stopped).finally(closeWrite);
    },
    stop() {
      stopped = true;
      if (readOpen) native.hk_close(readEnd);
      readOpen = false;
    },
  };
}

/** Copies fd 0 into `out` until end of file, a failed write (the sandbox is gone) or `stopped()`. */
async function pump(native: Native, out: number, stopped: () => boolean): Promise<void> {
  const buf = new Uint8Array(65536);
  while (!stopped()) {
    const n = Number(await native.hk_read(0, buf, BigInt(buf.length)));
    if (n <= 0) return;
    for (let off = 0; off < n;) {
      const w = Number(await native.hk_write(out, buf.subarray(off, n), BigInt(n - off)));
      if (w <= 0) return;
      off += w;
    }
  }
}
