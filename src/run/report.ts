/**
 * The report of a finished sandbox, and its JSON form (the seed's
 * `Result: {...}` line and `--report-file`).
 *
 * @module
 */
import type { SetupError } from "../common/errors.ts";
import type { NetRefusal } from "../net/allow.ts";

/**
 * How the sandbox ended: `OK` the command exited (any code), `SE` setup
 * failed and the command never ran, `SIG` killed by a signal, `TLE` time
 * limit (walltime or cpu), `MLE` the sandbox's memory limit (its cgroup
 * killed a process for it, and the command died or failed), `OLE` file size
 * limit or output cap, `RFE` a forbidden syscall killed it.
 */
export type Status = "OK" | "SE" | "SIG" | "TLE" | "MLE" | "OLE" | "RFE";

/** What a finished sandbox reports. */
export interface Report {
  /** How it ended. */
  status: Status;
  /** A short human reason, empty for OK. */
  reason: string;
  /** Exit code as a shell would see it: code, 128+signal, or 125 for SE. */
  exitCode: number;
  /** The signal that killed the command, e.g. `"SIGKILL"`, or null. */
  signal: Deno.Signal | null;
  /** When the sandbox started. */
  startTime: Date;
  /** Wall-clock time in milliseconds. */
  realTimeMs: number;
  /** User CPU time of every process of the sandbox, in milliseconds. */
  userTimeMs: number;
  /** System CPU time of every process of the sandbox, in milliseconds. */
  systemTimeMs: number;
  /**
   * Memory in KiB: with `usage: "cgroup"` and a memory limit, the peak of
   * the whole sandbox's cgroup; otherwise the largest resident set of any of
   * its processes.
   */
  maxRssKb: number;
  /**
   * Where the usage figures come from: `"cgroup"`, the sandbox's own cgroup
   * (every process, whatever ended it); `"rusage"`, the sandbox's init
   * reaped every process of the sandbox (killed ones included) and reported
   * their resource usage; `"none"`, no process reported (setup failed before
   * the command, or the sandbox was killed outright), and the figures are 0.
   */
  usage: "cgroup" | "rusage" | "none";
  /** The setup error, for status SE. */
  error?: SetupError;
  /**
   * With an allow list (`--allow-net`): every connection the proxy refused, in order (name or address, port,
   * time, the rule that decided, why); at most 1000, the rest counted in {@link Report.netRefusedOmitted}.
   */
  netRefused?: NetRefusal[];
  /** Refused connections past those in {@link Report.netRefused}. */
  netRefusedOmitted?: number;
}

/** Signal names by number (x86_64 and aarch64). */
export const SIGNAL_NAMES: Record<number, Deno.Signal> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  16: "SIGSTKFLT",
  17: "SIGCHLD",
  18: "SIGCONT",
  19: "SIGSTOP",
  20: "SIGTSTP",
  21: "SIGTTIN",
  22: "SIGTTOU",
  23: "SIGURG",
  24: "SIGXCPU",
  25: "SIGXFSZ",
  26: "SIGVTALRM",
  27: "SIGPROF",
  28: "SIGWINCH",
  29: "SIGIO",
  30: "SIGPWR",
  31: "SIGSYS",
};

/** Signal numbers by name. */
export const SIGNAL_NUMBERS = Object.fromEntries(
  Object.entries(SIGNAL_NAMES).map(([n, name]) => [name, Number(n)]),
) as Record<Deno.Signal, number>;

function duration(ms: number): { secs: number; nanos: number } {
  const ns = Math.round(ms * 1e6);
  return { secs: Math.floor(ns / 1e9), nanos: ns % 1e9 };
}

/**
 * The report as the seed printed it: snake_case keys, times as
 * `{ secs, nanos }`.
 *
 * @example
 * ```ts ignore
 * console.log(JSON.stringify(reportJson(report)));
 * ```
 */
export function reportJson(r: Report): Record<string, unknown> {
  return {
    status: r.status,
    reason: r.reason,
    exit_code: r.exitCode,
    start_time: r.startTime.toISOString(),
    real_time: duration(r.realTimeMs),
    system_time: duration(r.systemTimeMs),
    user_time: duration(r.userTimeMs),
    max_rss: r.maxRssKb,
    usage: r.usage,
    ...(r.netRefused
      ? {
        net_refused: r.netRefused.map((n) => ({
          time: n.time.toISOString(),
          host: n.host,
          port: n.port,
          protocol: n.protocol,
          rule: n.rule,
          reason: n.reason,
        })),
        ...(r.netRefusedOmitted ? { net_refused_omitted: r.netRefusedOmitted } : {}),
      }
      : {}),
  };
}
