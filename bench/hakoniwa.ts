/**
 * The hakoniwa side of the library cases: run a command in a sandbox with
 * the default (KISS) policy from a warm process. Uses the public
 * `output()` API when mod.ts has it (`Container.prototype.command(...)` or
 * a `Command` class), and otherwise the path that API takes internally:
 * Container -> buildPlan -> startSandbox with stdio on /dev/null.
 *
 * @module
 */
import * as mod from "../mod.ts";
import { POLICIES } from "../src/generated/policies.js";
import { loadNative } from "../src/native/ffi.ts";
import { buildPlan, currentHost } from "../src/plan/plan.ts";
import { type RunningSandbox, startSandbox } from "../src/run/runner.ts";
import { canSetgroups } from "../src/run/spec.ts";
import type { SpawnIo } from "../src/run/spec.ts";

/** What one sandboxed run reports back to the benchmark. */
export interface RunResult {
  /** Exit code of the command. */
  code: number;
  /** Its stdout (empty in the internal path, where stdout is /dev/null). */
  stdout: Uint8Array;
  /** Peak RSS of the sandbox's processes in KiB, from the report, when known. */
  maxRssKb?: number;
}

/** Options of one run. */
export interface RunOptions {
  /** Host paths bound read-only besides the policy's. */
  binds?: string[];
  /** A compiled seccomp program (internal path only). */
  seccomp?: Uint8Array;
  /** Capture stdout (internal path: through a pipe). */
  stdout?: boolean;
  /** Called with the sandbox once started (internal path only). */
  onStart?: (sandbox: RunningSandbox) => void;
}

/** Which API the adapter drives: `"output()"` or `"startSandbox"`. */
export type AdapterMode = "output()" | "startSandbox";

type OutputLike = { code: number; stdout?: Uint8Array; success?: boolean; report?: { maxRssKb?: number } };
type CommandLike = { output(): Promise<OutputLike> };

/** The default container: the embedded KISS policy, as the CLI builds it. */
export function defaultContainer(): mod.Container {
  return mod.containerFromPolicy(mod.parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml"));
}

function publicCommand(c: mod.Container, program: string, args: string[]): CommandLike | undefined {
  const m = mod as Record<string, unknown>;
  const viaContainer = (c as unknown as Record<string, unknown>).command;
  if (typeof viaContainer === "function") {
    return (viaContainer as (p: string, o: { args: string[] }) => CommandLike).call(c, program, { args });
  }
  const Command = m.Command as (new (...a: unknown[]) => CommandLike) | undefined;
  if (typeof Command === "function") return new Command(c.settings, program, { args });
  return undefined;
}

/**
 * Which path {@link runSandboxed} takes for plain runs.
 *
 * @example
 * ```ts ignore
 * console.log(adapterMode()); // "output()" once the library has it
 * ```
 */
export function adapterMode(): AdapterMode {
  return publicCommand(new mod.Container(), "/bin/true", []) ? "output()" : "startSandbox";
}

let nullFd: number | undefined;
const containers = new Map<string, mod.Container>();
const setgroups = canSetgroups();

/**
 * Runs `program` in a sandbox with the default policy and waits for it.
 *
 * @example
 * ```ts ignore
 * const r = await runSandboxed("/bin/true", []);
 * ```
 */
export async function runSandboxed(program: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  // Built once per set of binds, as a program would keep its Container: the run is what is measured.
  const key = (o.binds ?? []).join("\0");
  let container = containers.get(key);
  if (!container) {
    container = defaultContainer();
    for (const b of o.binds ?? []) container.bindRo(b);
    containers.set(key, container);
  }
  if (!o.seccomp && !o.onStart) {
    const cmd = publicCommand(container, program, args);
    if (cmd) {
      const out = await cmd.output();
      return { code: out.code, stdout: out.stdout ?? new Uint8Array(), maxRssKb: out.report?.maxRssKb };
    }
  }
  const native = await loadNative();
  nullFd ??= native.hk_open_null();
  const plan = buildPlan(container.settings, { program, args }, currentHost());
  let pipe: Int32Array | undefined;
  if (o.stdout) {
    pipe = new Int32Array(2);
    if (native.hk_pipe(pipe) !== 0) throw new Error("hk_pipe failed");
  }
  const io: SpawnIo = {
    stdio: [nullFd, pipe ? pipe[1] : nullFd, nullFd],
    session: "new",
    setgroups,
    seccomp: o.seccomp,
  };
  let sandbox: RunningSandbox;
  try {
    sandbox = await startSandbox(plan, io);
  } finally {
    if (pipe) native.hk_close(pipe[1]);
  }
  o.onStart?.(sandbox);
  let stdout = new Uint8Array();
  if (pipe) {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = Number(await native.hk_read(pipe[0], buf, BigInt(buf.length)));
      if (n <= 0) break;
      chunks.push(buf.slice(0, n));
    }
    native.hk_close(pipe[0]);
    stdout = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) stdout.set(c, (at += c.length) - c.length);
  }
  const report = await sandbox.finished;
  if (report.status === "SE") throw new Error(`hakoniwa: ${report.reason}`);
  return { code: report.exitCode, stdout, maxRssKb: report.maxRssKb };
}
