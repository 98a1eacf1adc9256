/**
 * The run stage (src/run/): takes a Plan, encodes it as the one byte spec (spec.ts), starts the native core on it,
 * relays the child's streams or a terminal, and gives a {@link Report}.
 *
 * Runs a plan: encodes it, hands it to the native core, and turns what the
 * core reports into a {@link Report}. The core vforks and execs the small
 * hakoniwa-init program synchronously on the JS thread (the thread waits
 * only for the exec); the namespaces and the root are built in the init's
 * own processes, so many sandboxes start in parallel. Every sandbox's end is
 * awaited in the process's one event loop (reactor.ts), and its walltime is a
 * timer here.
 *
 * @module
 */
import { HakoniwaError, SETUP_STEPS, SetupError } from "../common/errors.ts";
import { describeErrno, loadNative, loadNativeSync, type Native, prepareInit } from "../native/ffi.ts";
import { END, RESULT_SLOT } from "../generated/abi.js";
import type { Plan } from "../plan/types.ts";
import { type Report, SIGNAL_NAMES, SIGNAL_NUMBERS, type Status } from "./report.ts";
import { compileProfile, unconfinedProfile } from "../seccomp/profile.ts";
import { describeEvent, loggedLines, SeccompAudit } from "./seccomp_audit.ts";
import { encodeSpec, type SpawnIo } from "./spec.ts";
import { negotiateLandlock } from "../plan/landlock.ts";
import { type PastaHandle, startPasta } from "../net/network.ts";
import { resolveCgroups } from "../cgroup/cgroup.ts";
import { NetSession } from "../net/session.ts";
import type { NetRefusal } from "../net/allow.ts";
import { currentHelperHost, prepareIdMapHelpers, runIdMapHelpers } from "../plan/idmap_helper.ts";
import { logger } from "../common/log.ts";
import { CAN_UNREF, Reactor } from "./reactor.ts";

const S = RESULT_SLOT;
const SLOTS = S.SLOTS;
const RESULT_SIZE = SLOTS * 8 + 1000; // HK_RESULT_SIZE: the slots, then the error path

/** A started sandbox. */
export interface RunningSandbox {
  /** pid of the sandbox's monitor (the hakoniwa-init program), in the caller's pid namespace. */
  readonly pid: number;
  /** Resolves once every process of the sandbox is gone. */
  readonly finished: Promise<Report>;
  /** Settles once the sandbox is released to run (at once, but for a pasta network). */
  readonly ready: Promise<void>;
  /** Sends a signal to the sandbox; init forwards it to the command. SIGKILL ends everything. */
  kill(signal?: Deno.Signal): void;
  /** Lets the wait keep the event loop alive again (the default). */
  ref(): void;
  /** Lets the process exit while the sandbox runs; the sandbox then dies with it. */
  unref(): void;
}

/** How long the init program may take the sandbox down after a kill before it is killed itself. */
const KILL_GRACE_MS = 5000;

function setupError(native: Native, slots: BigInt64Array, result: Uint8Array): SetupError {
  const step = SETUP_STEPS[Number(slots[2])] ?? "spec";
  const errno = Number(slots[3]);
  const pathBytes = result.subarray(SLOTS * 8);
  const path = new TextDecoder().decode(pathBytes.subarray(0, Math.max(0, pathBytes.indexOf(0))));
  const [code, text] = errno ? describeErrno(native, errno) : ["", ""];
  return new SetupError(step, errno, code, text, path);
}

/**
 * The status of a sandbox whose command a signal ended. A signal is no
 * evidence by itself (the payload can raise SIGXCPU, SIGXFSZ or SIGSYS):
 * TLE needs the walltime or the cpu limit to have run out, OLE a file size
 * limit, and RFE is given only by explainSeccomp, from an audit record of
 * the sandbox's own filter.
 */
function signalStatus(sig: number, timeOut: boolean, fsizeLimited: boolean): Status {
  if (timeOut) return "TLE";
  if (sig === SIGNAL_NUMBERS.SIGXFSZ && fsizeLimited) return "OLE";
  return "SIG";
}

function toReport(native: Native, result: Uint8Array, startTime: Date, plan: Plan, timedOut: boolean): Report {
  const slot = (i: number) => Number(new BigInt64Array(result.buffer, 0, SLOTS)[i]);
  const [state, code, utime, stime] = [slot(S.STATE), slot(S.CODE), slot(S.UTIME_US), slot(S.STIME_US)];
  const base = {
    startTime,
    realTimeMs: slot(S.REAL_NS) / 1e6,
    userTimeMs: utime / 1e3,
    systemTimeMs: stime / 1e3,
    maxRssKb: slot(S.MAXRSS_KB),
    usage: (["none", "rusage", "cgroup"] as const)[slot(S.USAGE)] ?? "none",
  };
  // The cgroup killed a process for the memory limit, and the command died of it or failed after it.
  const memory = plan.cgroup?.memory;
  if (memory !== undefined && slot(S.OOM_KILLS) > 0 && state !== 3 && (state === 2 || code !== 0)) {
    const sig = state === 2 ? code : null;
    return {
      ...base,
      status: "MLE",
      reason: `memory limit of ${memory} bytes exceeded (${slot(S.OOM_KILLS)} out-of-memory kill(s))`,
      exitCode: sig === null ? code : 128 + sig,
      signal: sig === null ? null : SIGNAL_NAMES[sig] ?? null,
    };
  }
  if (state === 3) {
    const error = setupError(native, new BigInt64Array(result.buffer, 0, SLOTS), result);
    return { ...base, status: "SE", reason: error.message, exitCode: 125, signal: null, error };
  }
  if (state === 2 || timedOut) {
    const sig = state === 2 ? code : SIGNAL_NUMBERS.SIGKILL;
    // The sandbox's init ends the command when its CPU clock (the exact one) reaches the cpu limit, and says so
    // (HK_END_CPU): that record is the evidence, whatever the machine's load. RLIMIT_CPU stays one second above
    // as a backstop (spec.ts); a SIGXCPU or SIGKILL from it counts only with the limit used up.
    const cpu = plan.rlimits.find((l) => l.name === "cpu")?.value;
    const cpuOut = cpu !== undefined && !timedOut && (slot(S.ENDED_BY) === END.CPU ||
      ((sig === SIGNAL_NUMBERS.SIGXCPU || sig === SIGNAL_NUMBERS.SIGKILL) && (utime + stime) / 1e6 >= cpu));
    const fsizeLimited = plan.rlimits.some((l) => l.name === "fsize");
    const status = signalStatus(sig, timedOut || cpuOut, fsizeLimited);
    const name = SIGNAL_NAMES[sig] ?? null;
    const reason = timedOut
      ? `walltime limit of ${plan.walltime}s exceeded`
      : cpuOut
      ? `cpu time limit of ${cpu}s exceeded`
      : `killed by signal ${name ?? sig}`;
    return { ...base, status, reason, exitCode: 128 + sig, signal: name };
  }
  if (state === 1) return { ...base, status: "OK", reason: "", exitCode: code, signal: null };
  return {
    ...base,
    status: "SE",
    reason: `the sandbox's init ended without a report (status ${code})`,
    exitCode: 125,
    signal: null,
  };
}

let warnedImage = false;

/** Where the allow-net proxy's refusals and failures go: the log, at `-v`. */
function netEvents() {
  const log = logger("network");
  return {
    refused: (r: NetRefusal) =>
      log.info(
        `allow-net refused ${r.host || "a connection"}${
          r.port ? `:${r.port}` : ""
        } (${r.protocol}): ${r.reason} [${r.rule}]`,
      ),
    failed: (message: string) => log.info(`allow-net: ${message}`),
  };
}

/** Negotiates the plan's Landlock settings with the kernel; logs what best effort leaves out. */
function landlockRuleset(native: Native, plan: Plan): SpawnIo["landlock"] {
  const kernel = native.hk_landlock_abi();
  const n = negotiateLandlock(plan.landlock!, Math.max(0, kernel));
  const log = logger("landlock");
  log.info(`Landlock: ABI ${n.abi} (the kernel offers ${kernel})`);
  for (const line of n.dropped) log.warn(`Landlock best effort: ${line}`);
  return n.ruleset;
}

/**
 * Names what the seccomp filter did, from the kernel's audit records of the
 * sandbox's own processes and profile (see SeccompAudit): a command ended
 * by SIGSYS is RFE only when a record shows the sandbox's filter killing
 * the command itself (`commandPid`, in this process's pid namespace; a
 * child's kill says nothing of the command's own SIGSYS); the syscalls a
 * `log` action let through are named in a warning, with those the default
 * profile would refuse.
 */
async function explainSeccomp(report: Report, audit: SeccompAudit, initPid: number, commandPid: number) {
  if (!initPid) return audit.close(); // the sandbox was never cloned: nothing ran under the filter
  try {
    const sigsys = report.signal === "SIGSYS";
    const events = await audit.events(initPid, sigsys && commandPid > 0 ? commandPid : null);
    const log = logger("seccomp");
    for (const line of loggedLines(events)) log.warn(line);
    if (audit.unavailable && !sigsys) log.info(`audit records are not available: ${audit.unavailable}`);
    if (!sigsys) return;
    const kill = commandPid > 0 ? events.find((e) => e.action.startsWith("kill") && e.pid === commandPid) : undefined;
    if (kill) {
      report.status = "RFE";
      report.reason = `killed by seccomp: forbidden syscall ${describeEvent(kill)}`;
    } else {
      report.reason = `killed by signal SIGSYS (whether the seccomp profile did it is not knowable: ${
        audit.unavailable ??
          (commandPid > 0
            ? "no audit record of the sandbox's filter killing the command arrived"
            : "the command's pid is unknown")
      })`;
    }
  } finally {
    audit.close();
  }
}

/**
 * Starts a sandbox for `plan`, synchronously: the clone happens before it
 * returns, so the pid is known at once. Throws {@link SetupError} when the
 * spec is rejected or the namespaces cannot be created; later setup
 * failures arrive as a report with status `SE`. With `--network pasta` the
 * child is held until pasta serves its network namespace: `ready` settles
 * then, and a pasta that cannot start rejects `ready` and `finished`.
 *
 * @example
 * ```ts ignore
 * const sandbox = startSandboxSync(plan, { stdio: [0, 1, 2], session: "new", setgroups: false });
 * const report = await sandbox.finished;
 * ```
 */
export function startSandboxSync(plan: Plan, io: SpawnIo, nativePath?: string): RunningSandbox {
  const native = loadNativeSync(nativePath);
  const image = prepareInit(native);
  if (image.kind === "file" && !warnedImage) {
    warnedImage = true;
    logger("native").warn(`hakoniwa-init runs from ${image.where}`);
  }
  if (plan.landlock && !io.landlock) io = { ...io, landlock: landlockRuleset(native, plan) };
  // Id maps an unprivileged caller cannot write itself go through newuidmap/newgidmap while the child is held.
  const helpers = prepareIdMapHelpers(plan, currentHelperHost());
  // --allow-net: the proxy's socket is named now and listened on while the sandbox is held (src/net/session.ts).
  const net = plan.allowNet ? NetSession.prepare(plan.allowNet) : null;
  if (net) io = { ...io, netSocket: net.socket };
  const hold = plan.network.mode === "pasta" || helpers !== null || net !== null;
  // A gid map newgidmap writes leaves setgroups allowed (/etc/subgid grants the range): the sandbox sets the groups.
  if (helpers?.newgidmap && !io.setgroups) io = { ...io, setgroups: true };
  // The seccomp filter is compiled here, in the parent, before clone.
  // Even a plan without a profile gets the guard (no set-id files, no keyrings): unconfined is the guard alone.
  if (!io.seccomp) io = { ...io, seccomp: compileProfile(plan.seccomp ?? unconfinedProfile()) };
  // The sandbox's own cgroup (memory, CPU, processes): the monitor makes it beneath the caller's.
  if (plan.cgroup && !io.cgroup) io = { ...io, cgroup: resolveCgroups(plan.cgroup) };
  const spec = encodeSpec(plan, io, { hold, callerWritesMaps: helpers !== null });
  const audit = SeccompAudit.forPlan(native, plan);
  const out = new BigInt64Array(5);
  const err = new Uint8Array(RESULT_SIZE);
  const startTime = new Date();
  if (native.hk_spawn(spec, BigInt(spec.length), out, err) !== 0) {
    audit?.close();
    net?.close();
    throw setupError(native, new BigInt64Array(err.buffer, 0, SLOTS), err);
  }
  const [pid, pidfd, reportFd, startNs, holdFd] = Array.from(out, Number);
  let open = true, timedOut = false, referenced = true;
  const timers: number[] = [];
  const timer = (ms: number, fn: () => void) => {
    const id = Number(setTimeout(fn, ms)); // a number in Deno (Node's types say Timeout)
    if (!referenced) Deno.unrefTimer(id);
    timers.push(id);
  };
  // SIGKILL: the init program has the sandbox's init end every process and report (their usage counts); if it
  // does not end within the grace period, it is killed as it is.
  let ending = false;
  const end = () => {
    if (!open || ending) return;
    ending = true;
    native.hk_kill(pidfd, SIGNAL_NUMBERS.SIGKILL);
    timer(KILL_GRACE_MS, () => open && native.hk_kill(pidfd, -SIGNAL_NUMBERS.SIGKILL));
  };
  if (plan.walltime !== null) {
    timer(Math.round(plan.walltime * 1000), () => {
      timedOut = true;
      end();
    });
  }
  const reactor = Reactor.of(native);
  const result = new Uint8Array(RESULT_SIZE);
  const wait = reactor.ready(pidfd, "read").then(() => {
    for (const id of timers) clearTimeout(id);
    reactor.forget(pidfd);
    native.hk_reap(pidfd, reportFd, BigInt(startNs), result);
  });
  let pasta: PastaHandle | undefined;
  const ready = !hold ? Promise.resolve() : (async () => {
    // The sandbox's init waits before any setup until its id maps are written and pasta has configured its network.
    try {
      const initPid = Number(await native.hk_held(holdFd));
      if (initPid <= 0) {
        // Setup ended before the init was held: the report names the step (or the errno here does).
        if (initPid < 0) throw new SetupError("sync", -initPid, ...describeErrno(native, -initPid), "hold socket");
        native.hk_close(holdFd);
        return;
      }
      if (helpers) runIdMapHelpers(initPid, plan, helpers);
      if (plan.network.mode === "pasta") {
        pasta = await startPasta(plan.network.options, initPid);
        logger("network").info(`pasta (pid ${pasta.pid}) serves the sandbox's network namespace`);
      }
      if (net) await net.start(netEvents());
    } catch (e) {
      native.hk_close(holdFd); // the child sees end of file and exits without setting anything up
      native.hk_kill(pidfd, 9);
      throw e;
    }
    const rc = native.hk_release(holdFd);
    if (rc !== 0) {
      native.hk_kill(pidfd, 9);
      throw new SetupError("sync", -rc, ...describeErrno(native, -rc), "sync pipe");
    }
  })();
  const finished = Promise.allSettled([ready, wait]).then(async ([started]) => {
    open = false;
    pasta?.stop();
    native.hk_close(pidfd);
    const netEnd = await net?.close();
    if (started.status === "rejected") {
      audit?.close();
      throw started.reason;
    }
    const report = toReport(native, result, startTime, plan, timedOut);
    if (netEnd) {
      report.netRefused = netEnd.refused;
      if (netEnd.omitted) report.netRefusedOmitted = netEnd.omitted;
      logger("network").info(`allow-net: ${netEnd.connections} connection(s), ${netEnd.refused.length} refused`);
    }
    if (audit) {
      const slots = new BigInt64Array(result.buffer, 0, SLOTS);
      await explainSeccomp(report, audit, Number(slots[RESULT_SLOT.INIT_PID]), Number(slots[RESULT_SLOT.COMMAND_PID]));
    }
    return report;
  });
  ready.catch(() => {});
  finished.catch(() => {});
  return {
    pid,
    ready,
    finished,
    kill(signal: Deno.Signal = "SIGTERM") {
      if (signal === "SIGKILL") end();
      else if (open) native.hk_kill(pidfd, SIGNAL_NUMBERS[signal]);
    },
    ref() {
      if (!CAN_UNREF) throw new HakoniwaError("ref() needs Deno's internal op table, which this Deno lacks");
      referenced = true;
      net?.ref();
      for (const id of timers) Deno.refTimer(id);
      if (open) reactor.setRef(pidfd, true);
    },
    unref() {
      if (!CAN_UNREF) throw new HakoniwaError("unref() needs Deno's internal op table, which this Deno lacks");
      referenced = false;
      net?.unref();
      for (const id of timers) Deno.unrefTimer(id);
      if (open) reactor.setRef(pidfd, false);
    },
  };
}

/**
 * Starts a sandbox for `plan` (see {@link startSandboxSync}) and resolves
 * once it runs; rejects (after cleaning up) when pasta cannot serve it.
 *
 * @example
 * ```ts ignore
 * const sandbox = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: false });
 * const report = await sandbox.finished;
 * ```
 */
export async function startSandbox(plan: Plan, io: SpawnIo, nativePath?: string): Promise<RunningSandbox> {
  await loadNative(nativePath); // the embedded core's check on Web Crypto
  const sandbox = startSandboxSync(plan, io, nativePath);
  try {
    await sandbox.ready;
  } catch (e) {
    await sandbox.finished.catch(() => {});
    throw e;
  }
  return sandbox;
}
