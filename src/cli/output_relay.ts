/**
 * A stdout or stderr the command may write but not reopen. Given the
 * caller's own fd 1 or 2 when it is a regular file (`hakoniwa run -- CMD
 * >> log`), the payload could reopen the file through /proc/self/fd/1: read
 * what the log held before and truncate it. Such an output reaches the file
 * through a pipe this process empties instead, so /proc/self/fd/1 is only a
 * pipe inside (stdout and stderr that are the same file share one pipe, so
 * their order stays as written). A file size limit (`--limit-fsize`) still
 * ends the run as OLE: the relay stops at the limit as the kernel's write
 * would (bytes counted from the file's offset, from its size when it is
 * appended to), and the sandbox is killed. Pipes, sockets, terminals and
 * devices pass as they are (a device is reopened inside through a
 * read-only mount; a terminal gets the sandbox's own pty).
 *
 * @module
 */
import { describeErrno, loadNative, type Native } from "../native/ffi.ts";

const EFBIG = 27;

/**
 * The relays of a run's stdout and stderr.
 *
 * @example
 * ```ts ignore
 * const relays = await outputRelays(1024);
 * console.log(relays?.stdio); // [7, 7]: one pipe, when stdout and stderr are the same file
 * ```
 */
export interface OutputRelays {
  /** The command's stdout and stderr: a pipe's write end for a relayed one, else 1 or 2 as it is. */
  readonly stdio: [number, number];
  /**
   * Closes this process's copies of the write ends (the sandbox holds its own) and starts copying; `exceeded` is
   * called once, when output reached the file size limit (the caller kills the sandbox).
   */
  start(exceeded: () => void): void;
  /** Resolves once every pipe reached its end (the sandbox is gone): whether output reached the file size limit. */
  done(): Promise<boolean>;
  /** Closes every pipe end left (a run that never started). */
  stop(): void;
}

/** The fd's file when it is a regular file (its device and inode tell two fds of one file), else null. */
function regularFile(fd: number): Deno.FileInfo | null {
  try {
    const st = Deno.statSync(`/proc/self/fd/${fd}`);
    return st.isFile ? st : null;
  } catch {
    return null; // closed or unknowable: nothing to reopen
  }
}

/**
 * Relays for the caller's stdout and stderr where they are regular files,
 * or null when neither is. `fsizeLimit` is the run's file size limit in
 * bytes, or null.
 *
 * @example
 * ```ts ignore
 * const relays = await outputRelays(null);
 * const sandbox = await startSandbox(plan, { stdio: [0, ...(relays?.stdio ?? [1, 2])], session: "new", setgroups: false });
 * relays?.start(() => sandbox.kill("SIGKILL"));
 * await sandbox.finished;
 * const over = await relays?.done();
 * ```
 */
export async function outputRelays(fsizeLimit: number | null, nativePath?: string): Promise<OutputRelays | null> {
  const out = regularFile(1), err = regularFile(2);
  if (!out && !err) return null;
  const native = await loadNative(nativePath);
  const pipes: { read: number; write: number; to: number }[] = [];
  const pipe = (to: number) => {
    const fds = new Int32Array(2);
    const rc = native.hk_pipe(fds);
    if (rc < 0) {
      for (const p of pipes) native.hk_close(p.read), native.hk_close(p.write);
      throw new Error(`output relay: pipe: ${describeErrno(native, -rc).join(": ")}`);
    }
    pipes.push({ read: fds[0], write: fds[1], to });
    return fds[1];
  };
  const same = out !== null && err !== null && out.dev === err.dev && out.ino === err.ino;
  const stdout = out ? pipe(1) : 1;
  const stderr = same ? stdout : err ? pipe(2) : 2;
  let writesOpen = true, readsOpen = true;
  let running: Promise<boolean[]> | null = null;
  const closeWrites = () => {
    if (writesOpen) { for (const p of pipes) native.hk_close(p.write); }
    writesOpen = false;
  };
  return {
    stdio: [stdout, stderr],
    start(exceeded) {
      closeWrites();
      let told = false;
      const over = () => {
        if (!told) exceeded();
        told = true;
      };
      running = Promise.all(pipes.map((p) => pump(native, p.read, p.to, fsizeLimit ?? -1, over)));
      readsOpen = false; // pump closes each read end at its end
    },
    async done() {
      return running ? (await running).some((x) => x) : false;
    },
    stop() {
      closeWrites();
      if (readsOpen) { for (const p of pipes) native.hk_close(p.read); }
      readsOpen = false;
    },
  };
}

/**
 * Copies `from` into `to` until end of file, writing at most up to `limit`;
 * past it the rest is read and dropped. Returns whether the limit stopped it.
 */
async function pump(native: Native, from: number, to: number, limit: number, over: () => void): Promise<boolean> {
  const buf = new Uint8Array(65536);
  let stopped = false, failed = false;
  try {
    for (;;) {
      const n = Number(await native.hk_read(from, buf, BigInt(buf.length)));
      if (n <= 0) return stopped;
      for (let off = 0; off < n && !stopped && !failed;) {
        const w = Number(await native.hk_write_capped(to, buf.subarray(off, n), BigInt(n - off), BigInt(limit)));
        if (w === -EFBIG) {
          stopped = true;
          over();
        } else if (w <= 0) {
          // The file cannot take more (a full disk): said once; the command's output is dropped from here.
          failed = true;
          const [code, text] = w < 0 ? describeErrno(native, -w) : ["", "nothing written"];
          console.error(
            `hakoniwa: ${to === 1 ? "stdout" : "stderr"}: cannot write the command's output: ${code} ${text}`,
          );
        } else off += w;
      }
    }
  } finally {
    native.hk_close(from);
  }
}
