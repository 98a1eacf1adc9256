/**
 * The `hakoniwa` command line: argv -> policy and flags -> Container ->
 * Plan -> sandbox -> exit code. The only module that exits the process.
 *
 * ```sh
 * deno run -A jsr:@hakoniwa/cli run -- sh
 * ```
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { Command, CommanderError, InvalidArgumentError, Option } from "npm:@commander-js/extra-typings@15.1.0";
import type { Container } from "./src/container.ts";
import { HakoniwaError, PolicyError, SetupError, UsageError } from "./src/errors.ts";
import { POLICIES } from "./src/generated/policies.ts";
import { logger, setupLogging } from "./src/log.ts";
import { buildPlan, currentHost, describeMount, type Plan } from "./src/plan.ts";
import { containerFromPolicy, loadPolicyFile, parsePolicy, type Policy } from "./src/policy.ts";
import { reportJson } from "./src/report.ts";
import { RLIMIT_NAMES } from "./src/rlimit.ts";
import { startSandbox } from "./src/runner.ts";
import { isTerminal, startTerminalSandbox } from "./src/terminal.ts";
import { describeLandlock, parsePort, parseResources } from "./src/landlock.ts";
import { parseNetwork } from "./src/network.ts";
import { describeProfile } from "./src/seccomp.ts";
import { resolveSeccomp } from "./src/seccomp_oci.ts";

const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

function wholeNumber(flag: string, min = 0) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
      throw new InvalidArgumentError(
        `${flag}: expected a whole number${min ? ` of at least ${min}` : ""}, got "${value}"`,
      );
    }
    return Number(value);
  };
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] = []): T[] => [...previous, parse(value)];
}

/** `SRC[:DST]`; a backslash escapes a `:` or a `\` inside a path. */
export function parseBind(flag: string): (value: string) => { source: string; target: string } {
  return (value: string): { source: string; target: string } => {
    const parts: string[] = [""];
    for (let i = 0; i < value.length; i++) {
      const ch = value[i];
      if (ch === "\\" && i + 1 < value.length) parts[parts.length - 1] += value[++i];
      else if (ch === ":") parts.push("");
      else parts[parts.length - 1] += ch;
    }
    if (parts.length > 2 || !parts[0] || parts[1] === "") {
      throw new InvalidArgumentError(`${flag}: expected SRC[:DST], got "${value}"`);
    }
    return { source: parts[0], target: parts[1] ?? parts[0] };
  };
}

function setenv(value: string): [string, string] {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`--setenv: expected NAME=VALUE, got "${value}"`);
  return [value.slice(0, eq), value.slice(eq + 1)];
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

function runCommand() {
  const cmd = new Command("run")
    .description("run a command in a new sandbox")
    .usage("[options] [-- COMMAND [ARGS...]]")
    .argument("[command...]", "the command and its arguments (default: $SHELL, else /bin/sh)")
    .option("--policy-file <FILE>", "use a policy file instead of the embedded KISS-policy.toml")
    .option("--ro-bind <SRC[:DST]>", "bind a host path read-only (repeatable)", collect(parseBind("--ro-bind")))
    .option("--rw-bind <SRC[:DST]>", "bind a host path read-write (repeatable)", collect(parseBind("--rw-bind")))
    .option("-w, --work-dir <DIR>", "bind DIR read-write and run the command in it")
    .option("--setenv <NAME=VALUE>", "set an environment variable (repeatable)", collect(setenv))
    .option("--hostname <NAME>", "hostname inside (default: hakoniwa)")
    .option("--share-net", "share the host's network namespace")
    .option("--share-uts", "share the host's uts namespace (hostname)")
    .option("-u, --uid <UID>", "uid inside (default: your own)", wholeNumber("--uid"))
    .option("-g, --gid <GID>", "gid inside (default: your own)", wholeNumber("--gid"))
    .option(
      "--seccomp <PROFILE>",
      "seccomp profile: default, strict (default + no new namespaces), audit (log only), unconfined, or an OCI JSON file",
    )
    .option("--report-file <FILE>", "write the result as JSON to FILE")
    .option("-v, --verbose", "log the plan and the result");
  for (const name of RLIMIT_NAMES) {
    const what = { as: "address space, bytes", core: "core file size, bytes", cpu: "cpu time, seconds" }[
      name as string
    ] ?? { fsize: "file size, bytes", nofile: "open files", nproc: "processes" }[name as string];
    cmd.addOption(new Option(`--limit-${name} <N>`, `limit ${what}`).argParser(wholeNumber(`--limit-${name}`)));
  }
  cmd.addOption(
    new Option("--limit-walltime <SECS>", "kill the sandbox after SECS seconds").argParser(
      wholeNumber("--limit-walltime", 1),
    ),
  );
  addIsolationOptions(cmd);
  cmd.addHelpText(
    "after",
    `
Examples:
  hakoniwa run -- ls /
  hakoniwa run --ro-bind /etc --limit-walltime 5 -- sh -c 'cat /etc/hostname'
  hakoniwa run --policy-file policies/KISS-policy.toml -v -- /bin/bash`,
  );
  return cmd;
}

type RunOptions = ReturnType<ReturnType<typeof runCommand>["opts"]>;

function applyFlags(c: Container, o: RunOptions & Record<string, unknown>) {
  for (const b of o.roBind ?? []) {
    c.bindRo(absolute(b.source), b.target.startsWith("/") ? b.target : absolute(b.target));
  }
  for (const b of o.rwBind ?? []) {
    c.bindRw(absolute(b.source), b.target.startsWith("/") ? b.target : absolute(b.target));
  }
  if (o.workDir) {
    const dir = absolute(o.workDir);
    c.bindRw(dir, dir).workdir(dir);
  }
  for (const [k, v] of o.setenv ?? []) c.env(k, v);
  if (o.hostname !== undefined) c.hostname(o.hostname);
  if (o.shareNet) c.share("network");
  if (o.shareUts) c.share("uts");
  if (o.uid !== undefined) c.uid(o.uid);
  if (o.gid !== undefined) c.gid(o.gid);
  for (const name of RLIMIT_NAMES) {
    const v = o[`limit${name[0].toUpperCase()}${name.slice(1)}`];
    if (typeof v === "number") c.limit(name, v);
  }
  if (o.limitWalltime !== undefined) c.walltime(o.limitWalltime as number);
  applyIsolation(c, o);
  if (o.seccomp !== undefined) c.seccomp(resolveSeccomp(o.seccomp));
}

// --- network and Landlock flags (hakoniwa 1.x spelling) ---
// deno-lint-ignore no-explicit-any
function addIsolationOptions(cmd: Command<any, any, any>) {
  const list = (v: string, prev: string[] = []) => [...prev, v];
  cmd.option("--network <MODE>", "none (default: new namespace, lo up), host, or pasta[:OPT,OPT...]")
    .option(
      "--landlock-restrict <LIST>",
      "restrict fs,tcp.bind,tcp.connect,scope.abstract-unix-socket,scope.signal",
      list,
    )
    .option("--landlock-fs-ro <PATH[:PATH...]>", "allow reading beneath PATH (implies fs)", list)
    .option("--landlock-fs-rw <PATH[:PATH...]>", "allow reading and writing beneath PATH (implies fs)", list)
    .option("--landlock-fs-rx <PATH[:PATH...]>", "allow reading and executing beneath PATH (implies fs)", list)
    .option("--landlock-tcp-bind <PORT[,PORT...]>", "allow binding TCP PORT (implies tcp.bind)", list)
    .option("--landlock-tcp-connect <PORT[,PORT...]>", "allow connecting to TCP PORT (implies tcp.connect)", list)
    .option("--landlock-best-effort", "run with what the kernel's Landlock can enforce (logged) instead of failing")
    .option("--landlock-abi <N>", "use at most Landlock ABI N, as an older kernel would offer");
}

function applyIsolation(c: Container, o: Record<string, unknown>) {
  const strings = (v: unknown) => (v ?? []) as string[];
  if (typeof o.network === "string") {
    const n = parseNetwork(o.network, "--network");
    if (o.shareNet && n.mode !== "host") throw new UsageError(`--share-net contradicts --network ${o.network}`);
    c.network(n.mode, n.options);
  }
  for (const v of strings(o.landlockRestrict)) c.landlockRestrict(...parseResources(v, "--landlock-restrict"));
  const fsFlags = [
    ["--landlock-fs-ro", "landlockFsRo", "r"],
    ["--landlock-fs-rw", "landlockFsRw", "rw"],
    ["--landlock-fs-rx", "landlockFsRx", "rx"],
  ] as const;
  for (const [flag, key, access] of fsFlags) {
    for (const v of strings(o[key])) {
      for (const path of v.split(":")) {
        if (!path.startsWith("/")) throw new UsageError(`${flag}: expected absolute paths, got ${JSON.stringify(v)}`);
        c.landlockFs(path, access);
      }
    }
  }
  for (const v of strings(o.landlockTcpBind)) {
    for (const p of v.split(",")) c.landlockTcpBind(parsePort(p, "--landlock-tcp-bind"));
  }
  for (const v of strings(o.landlockTcpConnect)) {
    for (const p of v.split(",")) c.landlockTcpConnect(parsePort(p, "--landlock-tcp-connect"));
  }
  if (o.landlockBestEffort) c.landlockBestEffort();
  if (typeof o.landlockAbi === "string") {
    if (!/^\d+$/.test(o.landlockAbi)) {
      throw new UsageError(`--landlock-abi: expected a whole number, got "${o.landlockAbi}"`);
    }
    c.landlockAbi(Number(o.landlockAbi));
  }
}

function logPlan(plan: Plan) {
  const log = logger("executor");
  log.info(
    `Mount point: host_path: ${plan.root.source ? JSON.stringify(plan.root.source) : "tmpfs"}, container_path: "/"${
      plan.root.readonly ? ", readonly: true" : ""
    }`,
  );
  for (const op of plan.mounts) log.info(`Mount point: ${describeMount(op)}`);
  for (const m of plan.uidMap) log.info(`UID map: host_id: ${m.host}, container_id: ${m.container}, count: ${m.count}`);
  for (const m of plan.gidMap) log.info(`GID map: host_id: ${m.host}, container_id: ${m.container}, count: ${m.count}`);
  log.info(`Namespaces: ${plan.namespaces.join(", ")}`);
  for (const l of plan.rlimits) log.info(`Limit: ${l.name}: ${l.value}`);
  if (plan.walltime !== null) log.info(`Limit: walltime: ${plan.walltime}s`);
  log.info(`Seccomp: ${describeProfile(plan.seccomp)}`);
  log.info(
    `Network: ${plan.network.mode}${plan.network.options.length ? ` ${JSON.stringify(plan.network.options)}` : ""}`,
  );
  for (const line of plan.landlock ? describeLandlock(plan.landlock) : ["Landlock: disabled"]) log.info(line);
  log.info(`Execve: ${plan.program} ${JSON.stringify(plan.argv)}`);
}

/** setgroups is allowed in a new user namespace only for a privileged caller whose own namespace allows it. */
function canSetgroups(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    return Deno.readTextFileSync("/proc/self/setgroups").trim() === "allow";
  } catch {
    return false;
  }
}

async function run(commandArgs: string[], o: RunOptions & Record<string, unknown>): Promise<number> {
  await setupLogging(o.verbose ? "info" : "warning");
  const log = logger("cli::run");
  let policy: Policy;
  if (o.policyFile) {
    policy = await loadPolicyFile(o.policyFile);
  } else {
    policy = parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml");
  }
  log.info(`Configuration: ${JSON.stringify(policy.file)}`);
  const container = containerFromPolicy(policy);
  applyFlags(container, o);
  const program = commandArgs[0] ?? Deno.env.get("SHELL") ?? "/bin/sh";
  const plan = buildPlan(
    container.settings,
    { program, args: commandArgs.slice(1) },
    currentHost(),
    (m) => logger("executor").debug(m),
  );
  logPlan(plan);
  // A terminal on stdin: the command gets its own pty, which also passes window size changes on.
  const tty = await isTerminal(0);
  const sandbox = tty
    ? await startTerminalSandbox(plan, { setgroups: canSetgroups() })
    : await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: canSetgroups() });
  const forward = FORWARDED.filter((sig) => !tty || sig !== "SIGWINCH").map((sig) =>
    [sig, () => sandbox.kill(sig)] as const
  );
  for (const [sig, fn] of forward) Deno.addSignalListener(sig, fn);
  const report = await sandbox.finished;
  for (const [sig, fn] of forward) Deno.removeSignalListener(sig, fn);
  const json = JSON.stringify(reportJson(report));
  if (report.status === "SE") console.error(`hakoniwa: ${report.reason}`);
  logger("executor").info(`Result: ${json}`);
  if (o.reportFile) await Deno.writeTextFile(o.reportFile, json + "\n");
  return report.exitCode;
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit
 * code: the command's, 128+N for signal N, 125 when the sandbox could not
 * be set up, 2 for bad usage.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["run", "--", "ls", "/"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let code = 0;
  const program = new Command("hakoniwa")
    .description("Process isolation for Linux: namespaces, limits, seccomp and Landlock")
    .version("0.1.0")
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(str) });
  const run_ = runCommand().exitOverride().passThroughOptions();
  run_.action(async (commandArgs, o) => {
    code = await run(commandArgs, o as RunOptions & Record<string, unknown>);
  });
  program.addCommand(run_);
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      const sub = program.commands.find((c) => c.name() === args[0]);
      console.error(`Usage: hakoniwa ${sub ? `${sub.name()} ${sub.usage()}` : program.usage()}`);
      return 2;
    }
    if (e instanceof UsageError || e instanceof PolicyError) {
      console.error(`hakoniwa: ${e.message}`);
      return 2;
    }
    if (e instanceof SetupError || e instanceof HakoniwaError) {
      console.error(`hakoniwa: ${e.message}`);
      return 125;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
