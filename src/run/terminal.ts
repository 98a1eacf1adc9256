/**
 * A sandbox with its own pseudo-terminal. When any of the caller's stdin,
 * stdout or stderr is a terminal, the command must not get it: with an fd
 * on the caller's terminal it could push keystrokes into the caller's shell
 * (TIOCSTI) or change its mode (`stty -echo <&1`). Instead the command gets
 * the slave of a new pty in place of each terminal, as its controlling
 * terminal, in a new session where job control works, and this module
 * relays bytes between the caller's terminal (stdin in raw mode when it is
 * a terminal, so that Ctrl-C and Ctrl-Z reach the pty's line discipline)
 * and the master.
 *
 * The relay runs in the native core on a worker thread and ends when no
 * slave fd is left open: the sandbox's init holds none once the command is
 * forked, and kills everything when the command ends, so the master reads
 * EIO exactly when the sandbox is gone. The caller's terminal mode is
 * restored on every way out: exit, kill, setup failure.
 *
 * @module
 */
import { SetupError } from "../common/errors.ts";
import { describeErrno, loadNative, type Native } from "../native/ffi.ts";
import type { Plan } from "../plan/types.ts";
import { type RunningSandbox, startSandbox } from "./runner.ts";
import type { SpawnIo } from "./spec.ts";
import { EVENT } from "../generated/abi.js";

/**
 * What a terminal sandbox needs besides the plan: {@link SpawnIo} without stdio and session.
 *
 * @example
 * ```ts ignore
 * const io: TerminalIo = { setgroups: false, stdio: [0, 1, 2] };
 * ```
 */
export type TerminalIo = Omit<SpawnIo, "stdio" | "session"> & {
  /** Host fds for the command's stdin, stdout, stderr (default 0, 1, 2); those that are terminals get the pty. */
  stdio?: [number, number, number];
};

/** How long the relay may outlive the sandbox (only when a slave fd leaked elsewhere in this process). */
const DRAIN_GRACE_MS = 500;

function isTty(native: Native, fd: number, mode: Uint8Array): boolean {
  return native.hk_tty_get(fd, mode, BigInt(mode.length)) === 0;
}

/**
 * The plan with the pty's slave bound at `console` in the sandbox's devfs
 * (as hakoniwa 1.x binds the command's terminal), so that ttyname(3)
 * (`tty`, `ssh`, `sudo`) finds the terminal: /dev/pts is the sandbox's own
 * devpts instance, where no pty of the caller's can appear. It is on a
 * read-only mount like every devfs node (the terminal works through it; its
 * node cannot be chmod'ed or touched). A plan without the default devfs is
 * left as it is.
 */
function withTtyNode(plan: Plan, slavePath: string): Plan {
  const tty = plan.mounts.find((m) => m.kind === "bind" && m.source === "/dev/tty" && m.dev);
  if (!tty || !/^\/dev\/pts\/\d+$/.test(slavePath)) return plan;
  const target = `${tty.target.slice(0, -"/tty".length)}/console`;
  return { ...plan, mounts: [...plan.mounts, { kind: "bind", source: slavePath, target, readonly: true, dev: true }] };
}

/** /dev/pts/N of the slave, or "" when it cannot be read (e.g. without read permission). */
function slavePath(fd: number): string {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return "";
  }
}

function fail(native: Native, what: string, rc: number): never {
  const [code, text] = describeErrno(native, -rc);
  throw new SetupError("stdio", -rc, code, text, what);
}

/**
 * Job control through the sandbox: when Ctrl-Z stops the command (the
 * sandbox's init reports it on the events pipe), the caller's terminal gets
 * its mode back and this process stops itself, so the caller's shell sees a
 * stopped job; when the shell continues it (`fg`), the terminal goes raw
 * again and the command is continued. Ends at the events pipe's end of file,
 * when the sandbox is gone.
 */
async function passStops(
  native: Native,
  fd: number,
  sandbox: RunningSandbox,
  release: () => void,
  resume: () => void,
): Promise<void> {
  const buf = new Uint8Array(1);
  try {
    while (Number(await native.hk_read(fd, buf, 1n)) === 1) {
      if (buf[0] !== EVENT.STOPPED) continue;
      release();
      Deno.kill(Deno.pid, "SIGTSTP"); // returns once the caller's shell has continued this process
      resume();
      sandbox.kill("SIGCONT");
    }
  } finally {
    native.hk_close(fd);
  }
}

/**
 * Whether `fd` of this process is a terminal, i.e. whether
 * {@link startTerminalSandbox} would give the command a pty for it.
 *
 * @example
 * ```ts ignore
 * if (await isTerminal(0)) console.log("interactive");
 * ```
 */
export async function isTerminal(fd: number, nativePath?: string): Promise<boolean> {
  const native = await loadNative(nativePath);
  return isTty(native, fd, new Uint8Array(native.hk_tty_size()));
}

/**
 * Starts a sandbox whose command runs on its own pseudo-terminal, as the
 * leader of a new session with the pty as its controlling terminal. Each of
 * `io.stdio` that is a terminal is replaced by the pty's slave; the others
 * are passed as they are. When none is a terminal this is
 * {@link startSandbox} with a new session and no controlling terminal.
 *
 * While it runs, a terminal stdin is in raw mode and relayed to the pty,
 * the window size is passed on at every SIGWINCH, and the command's output
 * is written to the first of stdout, stderr that is a terminal. `finished`
 * resolves after the relay has ended and the caller's terminal mode is
 * restored; the mode is restored as well if this process exits meanwhile.
 *
 * @example
 * ```ts ignore
 * const sandbox = await startTerminalSandbox(plan, { setgroups: false });
 * const report = await sandbox.finished; // the terminal is back in its mode
 * ```
 */
export async function startTerminalSandbox(plan: Plan, io: TerminalIo, nativePath?: string): Promise<RunningSandbox> {
  const native = await loadNative(nativePath);
  const hostStdio = io.stdio ?? [0, 1, 2];
  const { stdio: _, ...rest } = io;
  const saved = new Uint8Array(native.hk_tty_size());
  const scratch = new Uint8Array(saved.length);
  const ttys = hostStdio.map((fd) => isTty(native, fd, scratch));
  if (!ttys.some((t) => t)) return startSandbox(plan, { ...rest, stdio: hostStdio, session: "new" }, nativePath);
  // Input is relayed only from a terminal stdin; otherwise the command reads its stdin as it is.
  const input = ttys[0] ? hostStdio[0] : -1;
  const output = ttys[1] ? hostStdio[1] : ttys[2] ? hostStdio[2] : hostStdio[1];
  // The terminal whose mode and size the pty starts with.
  const model = ttys[0] ? hostStdio[0] : output;
  isTty(native, model, saved);

  const pair = new Int32Array(2);
  let rc = native.hk_pty_open(pair);
  if (rc < 0) fail(native, "pseudo-terminal", rc);
  const [master, slave] = pair;
  const stop = new Int32Array(2);
  const events = new Int32Array([-1, -1]);
  const closeAll = () => [master, stop[0], stop[1]].forEach((fd) => fd > 0 && native.hk_close(fd));
  let sandbox: RunningSandbox;
  try {
    // The pty starts in the caller's mode and size; the caller's terminal then goes raw.
    if ((rc = native.hk_tty_set(slave, saved, BigInt(saved.length))) < 0) fail(native, "pseudo-terminal mode", rc);
    native.hk_tty_winsize(model, slave, null);
    if ((rc = native.hk_pipe(stop)) < 0) fail(native, "relay pipe", rc);
    const stdio = hostStdio.map((fd, i) => ttys[i] ? slave : fd) as [number, number, number];
    const node = withTtyNode(plan, slavePath(slave));
    // The native core makes stdin the controlling terminal of the init's session, the command its foreground job;
    // with another stdin the command has none (a new session).
    if (ttys[0] && (rc = native.hk_pipe(events)) < 0) fail(native, "events pipe", rc);
    const session = ttys[0] ? "tty" : "new";
    sandbox = await startSandbox(
      node,
      { ...rest, stdio, session, events: ttys[0] ? events[1] : undefined },
      nativePath,
    );
  } catch (e) {
    closeAll();
    if (events[0] >= 0) native.hk_close(events[0]);
    throw e;
  } finally {
    // The sandbox's init has its own copies; ours would keep the master from reading EIO, the events from ending.
    native.hk_close(slave);
    if (events[1] >= 0) native.hk_close(events[1]);
  }

  // The caller's terminal goes raw only when it is stdin; its mode comes back on every way out.
  const restore = () => void (input >= 0 && native.hk_tty_set(input, saved, BigInt(saved.length)));
  if (input >= 0) native.hk_tty_raw(input);
  globalThis.addEventListener("unload", restore);
  const resize = () => void native.hk_tty_winsize(model, master, null);
  Deno.addSignalListener("SIGWINCH", resize);
  const relay = native.hk_pty_relay(input, output, master, stop[0]);
  if (events[0] >= 0) {
    void passStops(native, events[0], sandbox, () => restore(), () => {
      if (input >= 0) native.hk_tty_raw(input);
      resize();
    });
  }
  const finished = sandbox.finished.finally(async () => {
    try {
      let ended = false;
      const timer = setTimeout(() => ended || native.hk_write(stop[1], new Uint8Array(1), 1n), DRAIN_GRACE_MS);
      await relay;
      ended = true;
      clearTimeout(timer);
    } finally {
      Deno.removeSignalListener("SIGWINCH", resize);
      restore();
      globalThis.removeEventListener("unload", restore);
      closeAll();
    }
  });
  return { ...sandbox, pid: sandbox.pid, finished, kill: (signal) => sandbox.kill(signal) };
}
