/**
 * The network room (src/net/): takes a `--network` mode and gives the network settings of a plan, and runs pasta
 * for the sandbox's namespace when asked.
 *
 * Networking modes: `none` (a new network namespace with only `lo`, up),
 * `host` (the host's namespace), and `pasta[:OPTIONS]`: pasta(1) from
 * Debian's `passt` package, started by the parent for the sandbox's new
 * network namespace while the sandbox is held before its setup, and
 * stopped when the sandbox ends.
 *
 * @module
 */
import { HakoniwaError, UsageError } from "../common/errors.ts";

/** A network mode. */
export type NetworkMode = "none" | "host" | "pasta";

/** The network part of a container's settings and of a plan. */
export interface NetworkSettings {
  /** The mode. */
  mode: NetworkMode;
  /** pasta(1) options (pasta mode only). */
  options: string[];
}

/**
 * Parses a `--network` value: `none`, `host`, `pasta` or
 * `pasta:OPT,OPT,...` (pasta options, comma-separated as in hakoniwa 1.x).
 *
 * @example
 * ```ts
 * import { parseNetwork } from "./network.ts";
 * console.log(parseNetwork("pasta:-T,8080", "--network")); // { mode: "pasta", options: ["-T", "8080"] }
 * ```
 */
export function parseNetwork(value: string, what: string): NetworkSettings {
  const colon = value.indexOf(":");
  const mode = colon < 0 ? value : value.slice(0, colon);
  const rest = colon < 0 ? null : value.slice(colon + 1);
  if (mode !== "none" && mode !== "host" && mode !== "pasta") {
    throw new UsageError(`${what}: expected none, host or pasta[:OPTIONS], got ${JSON.stringify(value)}`, what);
  }
  if (rest !== null && mode !== "pasta") {
    throw new UsageError(`${what}: only pasta takes options, got ${JSON.stringify(value)}`, what);
  }
  const options = rest === null ? [] : rest.split(",");
  return checkNetwork({ mode, options }, what);
}

/**
 * Checks a network setting; throws {@link UsageError} naming `what`.
 *
 * @example
 * ```ts
 * import { checkNetwork } from "./network.ts";
 * console.log(checkNetwork({ mode: "host", options: [] }, "network").mode); // "host"
 * ```
 */
export function checkNetwork(n: NetworkSettings, what: string): NetworkSettings {
  if (n.mode !== "pasta" && n.options.length) throw new UsageError(`${what}: only pasta takes options`, what);
  for (const o of n.options) {
    if (o === "" || o.includes("\0")) throw new UsageError(`${what}: empty or invalid pasta option`, what);
  }
  return { mode: n.mode, options: [...n.options] };
}

/** Whether the options forward a UDP port: `-u`/`--udp-ports`/`-U`/`--udp-ns` with a value other than `none`. */
function forwardsUdp(options: string[]): boolean {
  return options.some((o, i) => {
    const eq = /^(--udp-ports|--udp-ns)=(.*)$/.exec(o);
    if (eq) return eq[2] !== "none";
    return ["-u", "--udp-ports", "-U", "--udp-ns"].includes(o) && options[i + 1] !== undefined &&
      options[i + 1] !== "none";
  });
}

/**
 * The address inside at which pasta answers DNS by forwarding to the host's resolver (`--dns-forward`, as Podman
 * does), unless the options give their own.
 *
 * @example
 * ```ts
 * import { PASTA_DNS } from "./network.ts";
 * console.log(`nameserver ${PASTA_DNS}`); // nameserver 169.254.1.1
 * ```
 */
export const PASTA_DNS = "169.254.1.1";

/**
 * The address the sandbox's resolv.conf names under pasta: the options' `--dns-forward ADDR` (the last one), else
 * {@link PASTA_DNS}, which {@link pastaArgs} then passes.
 *
 * @example
 * ```ts
 * import { pastaDnsAddress } from "./network.ts";
 * console.log(pastaDnsAddress([]), pastaDnsAddress(["--dns-forward=10.0.2.3"])); // 169.254.1.1 10.0.2.3
 * ```
 */
export function pastaDnsAddress(options: string[]): string {
  let found = PASTA_DNS;
  options.forEach((o, i) => {
    if (o === "--dns-forward" && options[i + 1]) found = options[i + 1];
    else if (o.startsWith("--dns-forward=")) found = o.slice("--dns-forward=".length);
  });
  return found;
}

/** Whether any of `flags` (or `--flag=...`) is among `options`. */
function has(options: string[], ...flags: string[]): boolean {
  return options.some((o) => flags.some((f) => o === f || o.startsWith(`${f}=`)));
}

/**
 * The full pasta(1) argv for the sandbox whose init is `pid`. As hakoniwa
 * 1.x: `--config-net`; `--no-map-gw` unless `--map-gw` is given (which is
 * removed, not a pasta option); `-t none -u none -T none -U none` for each
 * direction the options do not forward. Beyond 1.x, UDP is off
 * (`--no-udp`) unless the options forward a UDP port (`-u`/`-U` with a
 * port) or give `--udp` (removed, not a pasta option): pasta (Debian 12's
 * at least) binds, on the host's 0.0.0.0, each UDP source port the command
 * sends from, so that host processes can reach the command there and the
 * command can hold host UDP ports; no option of pasta's prevents it but
 * turning UDP off. pasta runs in the background and writes its pid to
 * `pidFile`; as root it keeps uid 0 (`--runas 0`): entering the sandbox's
 * user and network namespaces, which root owns, needs uid 0 (as `nobody` it
 * cannot open them), and once inside, its capabilities are those of the
 * sandbox's user namespace, none of the host's. The namespaces are named by
 * their /proc paths, which pasta versions that watch their target (newer
 * than Debian 12's) use to quit on their own once the sandbox is gone. And
 * `--dns-forward` {@link PASTA_DNS} unless they give one, for the
 * resolv.conf the plan puts in the sandbox (its queries are UDP: `--udp`).
 *
 * @example
 * ```ts
 * import { pastaArgs } from "./network.ts";
 * console.log(pastaArgs(["-T", "8080"], 1234, "/tmp/p.pid", false).join(" "));
 * ```
 */
export function pastaArgs(options: string[], pid: number, pidFile: string, root: boolean): string[] {
  const opts = options.filter((o) => o !== "--map-gw" && o !== "--udp");
  const args = ["--quiet", "--config-net"];
  if (!options.includes("--map-gw") && !has(opts, "--no-map-gw")) args.push("--no-map-gw");
  if (!options.includes("--udp") && !forwardsUdp(opts) && !has(opts, "--no-udp")) args.push("--no-udp");
  for (const [short, long] of [["-t", "--tcp-ports"], ["-u", "--udp-ports"], ["-T", "--tcp-ns"], ["-U", "--udp-ns"]]) {
    if (!has(opts, short, long)) args.push(short, "none");
  }
  if (root && !has(opts, "--runas")) args.push("--runas", "0");
  // DNS: queries to this address inside go to the host's resolver (the plan's resolv.conf names it).
  if (!has(opts, "--dns-forward")) args.push("--dns-forward", PASTA_DNS);
  // The namespaces by path: a pasta that watches its target quits by itself once the sandbox is gone.
  args.push("--pid", pidFile, ...opts, "--userns", `/proc/${pid}/ns/user`, "--netns", `/proc/${pid}/ns/net`);
  return args;
}

/** A running pasta, stopped by {@link PastaHandle.stop}. */
export interface PastaHandle {
  /** pid of the pasta daemon. */
  readonly pid: number;
  /** Stops pasta (SIGTERM) if it still runs; idempotent. */
  stop(): void;
}

/** pasta could not be started: exit 125. */
export class PastaError extends HakoniwaError {
  /**
   * Creates the error.
   *
   * @example
   * ```ts
   * import { PastaError } from "./network.ts";
   * console.log(new PastaError("pasta not found").message);
   * ```
   */
  constructor(message: string, options?: ErrorOptions) {
    super(`network: ${message}`, options);
    this.name = "PastaError";
  }
}

/**
 * The pasta binary: `HAKONIWA_PASTA` or the first executable `pasta` on PATH (then /usr/bin, /usr/sbin, /bin);
 * null when there is none.
 *
 * @example
 * ```ts ignore
 * import { findPasta } from "./network.ts";
 * console.log(findPasta() ?? "install passt");
 * ```
 */
export function findPasta(): string | null {
  const explicit = Deno.env.get("HAKONIWA_PASTA");
  if (explicit) return executable(explicit) ? explicit : null;
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), "/usr/bin", "/usr/sbin", "/bin"];
  return dirs.map((d) => `${d}/pasta`).find(executable) ?? null;
}

function executable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && st.mode !== null && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Starts pasta for the network namespace of `pid` (the held sandbox's
 * init) and resolves once pasta has configured it (its foreground process
 * exits 0 after daemonizing). Throws {@link PastaError} when pasta is
 * missing or fails, with its own message.
 *
 * @example
 * ```ts ignore
 * const pasta = await startPasta(["-T", "8080"], sandboxPid);
 * // ... release the sandbox, wait for it ...
 * pasta.stop();
 * ```
 */
export async function startPasta(options: string[], pid: number): Promise<PastaHandle> {
  const pasta = findPasta();
  if (!pasta) {
    throw new PastaError(
      `the pasta network mode needs pasta(1), which was not found ${
        Deno.env.get("HAKONIWA_PASTA") ? `at HAKONIWA_PASTA=${Deno.env.get("HAKONIWA_PASTA")}` : "on PATH"
      } (install Debian's passt package)`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-pasta-" });
  const pidFile = `${dir}/pasta.pid`;
  try {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(pasta, {
        args: pastaArgs(options, pid, pidFile, Deno.uid() === 0),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (e) {
      throw new PastaError(`cannot run ${pasta}: ${e instanceof Error ? e.message : e}`, { cause: e });
    }
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr).trim().split("\n").filter((l) => !/syslog/.test(l)).join("; ");
      const hint = /tun/i.test(text) ? " (pasta needs /dev/net/tun readable and writable by this user)" : "";
      throw new PastaError(`pasta failed (exit ${out.code}): ${text || "no message"}${hint}`);
    }
    const daemon = Number((await Deno.readTextFile(pidFile)).trim());
    if (!Number.isSafeInteger(daemon) || daemon <= 0) throw new PastaError(`pasta wrote no pid to ${pidFile}`);
    let running = true;
    return {
      pid: daemon,
      stop() {
        if (!running) return;
        running = false;
        try {
          // Only signal the pid while it is still our pasta (not a reused pid).
          const cmd = Deno.readTextFileSync(`/proc/${daemon}/cmdline`);
          if (cmd.includes(pidFile)) Deno.kill(daemon, "SIGTERM");
        } catch { /* already gone */ }
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Reads a policy's `[network]` table as hakoniwa 1.x writes it:
 * `mode = "none" | "host" | "pasta"`, `options = [...]` (pasta options).
 * Problems go to `fail` with the key path below `network`.
 *
 * @example
 * ```ts
 * import { parseNetworkPolicy } from "./network.ts";
 * const fail = (p: (string | number)[], m: string): never => {
 *   throw new Error(`${p.join(".")}: ${m}`);
 * };
 * console.log(parseNetworkPolicy({ mode: "pasta", options: ["-T", "8080"] }, fail).mode); // "pasta"
 * ```
 */
export function parseNetworkPolicy(
  v: unknown,
  fail: (path: (string | number)[], message: string) => never,
): NetworkSettings {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail([], "expected a table");
  const t = v as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (k !== "mode" && k !== "options") fail([k], "unknown key (expected mode, options)");
  }
  if (t.mode !== "none" && t.mode !== "host" && t.mode !== "pasta") {
    fail(["mode"], `expected "none", "host" or "pasta", got ${JSON.stringify(t.mode)}`);
  }
  const options = t.options ?? [];
  if (!Array.isArray(options)) fail(["options"], "expected an array of strings");
  options.forEach((o, i) => {
    if (typeof o !== "string" || o === "" || o.includes("\0")) fail(["options", i], "expected a non-empty string");
  });
  if (t.mode !== "pasta" && options.length) fail(["options"], "only pasta takes options");
  return { mode: t.mode, options: options as string[] };
}
