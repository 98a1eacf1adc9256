/**
 * Starts an OCI plan (a container's init, or an exec's command) through the native core and waits until its command
 * is set up: the native core's report records, read until HK_REC_READY or an error.
 *
 * @module
 */
import { describeErrno, type Native } from "../native/ffi.ts";
import { SETUP_STEPS, SetupError } from "../common/errors.ts";
import { RECORD, RESULT_SLOT } from "../generated/abi.js";
import { encodeSpec, type SpawnIo } from "../run/spec.ts";
import type { Plan } from "../plan/types.ts";
import { OciError } from "./state.ts";

const RECORD_SIZE = 48 + RECORD.PATH_MAX; // struct hk_record

/** What a setup that ended without saying why (no error record, no ready one) is reported as. */
export const NO_REPORT = "the container's init ended before it was ready (no report)";
/** hk_spawn's err buffer: the result slots, then the path (HK_RESULT_SIZE). */
const SLOTS_SIZE = RESULT_SLOT.SLOTS * 8;

/**
 * A string as a NUL-terminated buffer for the native core.
 *
 * @example
 * ```ts
 * import { cstr } from "./spawn.ts";
 * console.log(cstr("a").length); // 2
 * ```
 */
export const cstr = (s: string): Uint8Array => new TextEncoder().encode(s + "\0");

function pathOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes.subarray(0, Math.max(0, bytes.indexOf(0))));
}

/** Reads report records until the command is ready; throws what the setup reported. */
async function awaitReady(native: Native, fd: number): Promise<number> {
  const rec = new Uint8Array(RECORD_SIZE);
  const view = new DataView(rec.buffer);
  let initPid = 0;
  for (;;) {
    let got = 0;
    while (got < RECORD_SIZE) {
      const n = Number(await native.hk_read(fd, rec.subarray(got), BigInt(RECORD_SIZE - got)));
      if (n <= 0) throw new OciError(NO_REPORT);
      got += n;
    }
    const kind = view.getUint32(0, true);
    if (kind === RECORD.INIT) initPid = view.getInt32(12, true);
    else if (kind === RECORD.READY) return initPid;
    else if (kind === RECORD.ERROR) throw recordError(native, rec);
  }
}

/**
 * The error a setup error record (struct hk_record, HK_REC_ERROR) reports.
 *
 * @example
 * ```ts ignore
 * throw recordError(native, record);
 * ```
 */
export function recordError(native: Native, rec: Uint8Array): SetupError {
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const step = SETUP_STEPS[view.getUint32(4, true)] ?? "spec";
  const errno = view.getInt32(8, true);
  const [code, text] = errno ? describeErrno(native, errno) : ["", ""];
  return new SetupError(step, errno, code, text, pathOf(rec.subarray(48)));
}

/**
 * The error hk_spawn's err buffer (HK_RESULT_SIZE bytes) reports.
 *
 * @example
 * ```ts ignore
 * throw spawnError(native, err);
 * ```
 */
export function spawnError(native: Native, err: Uint8Array): SetupError {
  const slots = new BigInt64Array(err.slice(0, SLOTS_SIZE).buffer);
  const errno = Number(slots[RESULT_SLOT.ERRNO]);
  return new SetupError(
    SETUP_STEPS[Number(slots[RESULT_SLOT.STEP])] ?? "spec",
    errno,
    ...describeErrno(native, errno),
    pathOf(err.subarray(SLOTS_SIZE)),
  );
}

/**
 * Spawns `plan` and returns the pid of its init (create) or command (exec) once it is set up; `wait`, when given,
 * gets the monitor's wait status (an exec that is not detached: the command's), else the monitor is reaped at once
 * (detached, it exits once it released the child).
 *
 * @example
 * ```ts ignore
 * const pid = await spawnReady(native, plan, { stdio: [0, 1, 2], session: "new", setgroups: true });
 * ```
 */
export async function spawnReady(
  native: Native,
  plan: Plan,
  io: SpawnIo,
  wait?: (status: Promise<number>) => void,
): Promise<number> {
  const spec = encodeSpec(plan, io);
  const out = new BigInt64Array(5);
  const err = new Uint8Array(SLOTS_SIZE + RECORD.PATH_MAX);
  if (native.hk_spawn(spec, BigInt(spec.length), out, err) !== 0) throw spawnError(native, err);
  const [, pidfd, reportFd] = Array.from(out, Number);
  let pid = 0;
  try {
    pid = await awaitReady(native, reportFd);
  } finally {
    native.hk_close(reportFd);
    if (!wait || pid === 0) {
      native.hk_wait(pidfd);
      native.hk_close(pidfd);
    }
  }
  if (wait) {
    wait(
      Promise.resolve().then(() => {
        const status = native.hk_wait(pidfd);
        native.hk_close(pidfd);
        return status;
      }),
    );
  }
  return pid;
}

/**
 * {@link spawnReady} with the command's stdio on a new terminal when `consoleSocket` is given: its master goes over
 * that socket (runc's form) once the command is ready, and neither end stays open here.
 *
 * @example
 * ```ts ignore
 * const pid = await spawnWithConsole(native, plan, io, "/run/console.sock");
 * ```
 */
export async function spawnWithConsole(
  native: Native,
  plan: Plan,
  io: SpawnIo,
  consoleSocket: string | null,
  wait?: (status: Promise<number>) => void,
): Promise<number> {
  const fds = new Int32Array([-1, -1]);
  try {
    if (consoleSocket) {
      const r = native.hk_pty_open(fds);
      if (r < 0) throw new OciError(`cannot open a pseudo-terminal: ${describeErrno(native, -r).join(": ")}`);
      io = { ...io, stdio: [fds[1], fds[1], fds[1]], session: "tty" };
    }
    const pid = await spawnReady(native, plan, io, wait);
    if (consoleSocket) {
      const r = native.hk_send_fd(cstr(consoleSocket), fds[0]);
      if (r < 0) throw new OciError(`--console-socket ${consoleSocket}: ${describeErrno(native, -r).join(": ")}`);
    }
    return pid;
  } finally {
    for (const fd of fds) if (fd >= 0) native.hk_close(fd);
  }
}
