/**
 * Shared pieces of the benchmark: interleaved timing, medians and paired
 * ratios, the bubblewrap and unshare command lines equivalent to the
 * default policy, and the small C helpers the cases build.
 *
 * @module
 */

/** Where build outputs of the benchmark go (ignored by git). */
export const BUILD_DIR = new URL("./.bench/", import.meta.url).pathname;
/** The repository root. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** One contender of a case: a name and one timed run. */
export interface Contender {
  /** Short name shown in the table. */
  name: string;
  /** Runs once; returns the value to record, or nothing to record the elapsed milliseconds. */
  run: () => Promise<number | void>;
}

/** Samples of one contender, in round order (round i of every contender was measured back to back). */
export type Samples = Record<string, number[]>;

/**
 * Runs `warmup` unrecorded rounds, then `runs` recorded rounds; each round
 * runs every contender once, in an order rotated by one each round, so slow
 * drift of the machine hits every contender alike.
 *
 * @example
 * ```ts ignore
 * const s = await interleave([{ name: "a", run: async () => {} }], 50, 5);
 * console.log(median(s.a));
 * ```
 */
export async function interleave(contenders: Contender[], runs: number, warmup: number): Promise<Samples> {
  const samples: Samples = Object.fromEntries(contenders.map((c) => [c.name, [] as number[]]));
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length];
      const t0 = performance.now();
      const value = await c.run();
      const elapsed = performance.now() - t0;
      if (round >= warmup) samples[c.name].push(typeof value === "number" ? value : elapsed);
    }
  }
  return samples;
}

/**
 * The median of `xs` (NaN when empty).
 *
 * @example
 * ```ts ignore
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The `q` quantile (0..1) of `xs`, nearest rank.
 *
 * @example
 * ```ts ignore
 * quantile([1, 2, 3, 4], 0.25); // 1
 * ```
 */
export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/**
 * The median of the per-round ratios `a[i] / b[i]`: rounds ran back to back,
 * so each ratio compares the two under the same machine load.
 *
 * @example
 * ```ts ignore
 * pairedRatio([2, 4], [1, 2]); // 2
 * ```
 */
export function pairedRatio(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  return median(Array.from({ length: n }, (_, i) => a[i] / b[i]));
}

/**
 * Runs a program to completion with stdio on /dev/null; throws when it fails.
 *
 * @example
 * ```ts ignore
 * await runQuiet("/bin/true", []);
 * ```
 */
export async function runQuiet(program: string, args: string[], env?: Record<string, string>): Promise<void> {
  const status = await new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "null", env })
    .spawn().status;
  if (!status.success) throw new Error(`${program} ${args.join(" ")} exited with ${status.code}`);
}

/**
 * Runs a program and returns its stdout; throws with its stderr when it fails.
 *
 * @example
 * ```ts ignore
 * const text = await capture("uname", ["-r"]);
 * ```
 */
export async function capture(program: string, args: string[], stdin?: Uint8Array): Promise<string> {
  const child = new Deno.Command(program, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} exited with ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/**
 * bwrap options equivalent to the embedded KISS policy: every namespace new,
 * a tmpfs root made read-only, /bin /lib /lib64 /usr bound read-only, a new
 * /proc, a minimal /dev, a /tmp tmpfs, hostname, empty environment, a new
 * session, and death with the parent.
 *
 * @example
 * ```ts ignore
 * new Deno.Command("bwrap", { args: [...bwrapArgs(), "/bin/true"] });
 * ```
 */
export function bwrapArgs(extraBinds: string[] = []): string[] {
  const binds = ["/bin", "/lib", "/lib64", "/usr", ...extraBinds].flatMap((p) => ["--ro-bind", p, p]);
  return [
    "--unshare-all",
    "--unshare-user",
    "--die-with-parent",
    "--new-session",
    "--clearenv",
    "--hostname",
    "hakoniwa",
    ...binds,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--remount-ro",
    "/",
  ];
}

/**
 * unshare options with the same namespaces as the default policy (user with
 * root mapped, mount, pid with a forked child and its own /proc, ipc, net,
 * uts, cgroup) but no root filesystem of its own: the floor of what
 * namespaces alone cost.
 *
 * @example
 * ```ts ignore
 * new Deno.Command("unshare", { args: [...UNSHARE_ARGS, "/bin/true"] });
 * ```
 */
export const UNSHARE_ARGS = ["-Urmpf", "-inuC", "--mount-proc"];

/**
 * Installs bubblewrap (and runc, case 10's yardstick) from Debian when `bwrap` (`runc`) is missing.
 *
 * @example
 * ```ts ignore
 * await ensureBwrap();
 * ```
 */
export async function ensureBwrap(): Promise<void> {
  for (const [program, pkg] of [["bwrap", "bubblewrap"], ["runc", "runc"]]) {
    if (await which(program)) continue;
    console.error(`bench: ${program} is missing; installing ${pkg} with apt-get`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    await runQuiet("apt-get", ["update", "-qq"], env).catch(() => {});
    await runQuiet("apt-get", ["install", "-y", "-qq", pkg], env);
    if (!await which(program)) throw new Error(`bench: ${program} is still missing after apt-get install ${pkg}`);
  }
}

async function which(name: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if ((await Deno.stat(`${dir}/${name}`)).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/**
 * Compiles bench/c/NAME.c into the build directory (when older than its
 * source) and returns the program's path.
 *
 * @example
 * ```ts ignore
 * const loop = await buildC("syscalls");
 * ```
 */
export async function buildC(name: string): Promise<string> {
  const src = new URL(`./c/${name}.c`, import.meta.url).pathname;
  const out = `${BUILD_DIR}${name}`;
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const srcTime = (await Deno.stat(src)).mtime?.getTime() ?? 0;
  const outTime = await Deno.stat(out).then((s) => s.mtime?.getTime() ?? 0, () => -1);
  if (outTime < srcTime) {
    await capture("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", out, src]);
  }
  return out;
}
