/**
 * Helpers for integration tests: run the CLI as a subprocess and check
 * what the sandbox did. Tests run once as root and once as an unprivileged
 * user (scripts/test.ts), so these helpers work for either.
 */
import { loadNativeSync } from "../src/native/ffi.ts";
import { libseccompVersion } from "../src/seccomp/libseccomp.ts";

export const ROOT: string = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
export const IS_ROOT: boolean = Deno.uid() === 0;
export const WHO: string = IS_ROOT ? "root" : "rootless";

/** Output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The argv that runs this checkout's CLI: `[deno, "run", "-A", "--no-check", ".../cli.ts", ...args]`. */
export function cliArgv(...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--no-check", `${ROOT}/cli.ts`, ...args];
}

/** The same argv as one shell word list, for scripts that exec the CLI. */
export const CLI_SH: string = cliArgv().join(" ");

/** Runs `deno run -A cli.ts ARGS` and collects its output. */
export async function hakoniwa(
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<CliResult> {
  const [deno, ...argv] = cliArgv(...args);
  const child = new Deno.Command(deno, {
    args: argv,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
    clearEnv: options.clearEnv,
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `sh -c SCRIPT` in the default sandbox with extra flags before `--`. */
export function sandboxSh(script: string, flags: string[] = []): Promise<CliResult> {
  return hakoniwa(["run", ...flags, "--", "/bin/sh", "-c", script]);
}

/** Whether this machine lets the current user create user namespaces. */
export function userNamespacesAvailable(): boolean {
  const read = (p: string) => {
    try {
      return Deno.readTextFileSync(p).trim();
    } catch {
      return null;
    }
  };
  return read("/proc/sys/kernel/unprivileged_userns_clone") !== "0" &&
    read("/proc/sys/user/max_user_namespaces") !== "0";
}

/**
 * Why sandbox tests cannot run here, or null when they can. A test that
 * is skipped for this reason prints it.
 */
export const SKIP_REASON: string | null = !IS_ROOT && !userNamespacesAvailable()
  ? "unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces)"
  : null;
if (SKIP_REASON) console.log(`skipping sandbox tests: ${SKIP_REASON}`);

// The native core binds most of its symbols on first use, and libseccomp loads only for profiles that are not
// shipped compiled: load both whole here, once, so that no test is seen loading a library it does not close.
if (!SKIP_REASON) {
  loadNativeSync().hk_landlock_abi();
  try {
    libseccompVersion();
  } catch { /* no libseccomp here: the tests that need it say so */ }
}

/**
 * Deno.test for a behaviour that needs real sandboxes; the name says which identity ran it. `skip`, when not null,
 * is why this host cannot show the behaviour (printed by whoever computed it): the test is ignored.
 */
export function sandboxTest(name: string, fn: () => Promise<void>, skip: string | null = null): void {
  Deno.test({ name: `${name} [${WHO}]`, ignore: SKIP_REASON !== null || skip !== null, fn, sanitizeResources: true });
}

/** A fresh host temp directory the current user owns. */
export function tempDir(): Promise<string> {
  return Deno.makeTempDir({ prefix: "hakoniwa-test-" });
}

/** Whether a host path exists (a broken symlink does not). */
export function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The host's mount table (for "nothing leaks to the host" checks). */
export function hostMounts(): string {
  return Deno.readTextFileSync("/proc/self/mountinfo");
}

/**
 * The mounts of the host's mount table now that `before` (a {@link hostMounts}) did not have: what a sandbox would
 * have leaked. Mounts that went away meanwhile are another process's business (a container engine's cleanup).
 */
export function mountsAdded(before: string): string[] {
  const had = new Set(before.split("\n"));
  return hostMounts().split("\n").filter((line) => line && !had.has(line));
}

/** Waits until `cond` holds or `ms` pass; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return await cond();
}

/** pids of host processes whose argv is exactly `argv` joined by spaces, e.g. "sleep 1234". */
export function processesWith(argv: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replace(/\0$/, "").replaceAll("\0", " ");
      if (cmd === argv) pids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return pids;
}

/** Runs `n` tasks with at most `width` in flight (a server's load, a judge's queue); results in task order. */
export async function pool<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < n; i = next++) out[i] = await task(i);
  }));
  return out;
}
