/**
 * The `hakoniwa` command line: argv -> policy and flags -> Container ->
 * Plan -> sandbox -> exit code. The only module that exits the process.
 * Subcommands: `run`, `explain`, `check`, `completion`.
 *
 * ```sh
 * deno run -A jsr:@hakoniwa/cli run -- sh
 * ```
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { Argument, Command, CommanderError } from "npm:@commander-js/extra-typings@15.1.0";
import { addSandboxFlags, type FlagState, newFlagState, type SandboxFlags } from "./src/cli/flags.ts";
import { completionScript, SHELLS } from "./src/cli/completion.ts";
import { logPlan, planTable, resolve } from "./src/cli/sandbox.ts";
import { planToJson } from "./src/plan.ts";
import { HakoniwaError, PolicyError, SetupError, UsageError } from "./src/errors.ts";
import { logger, setupLogging } from "./src/log.ts";
import { containerFromPolicy, loadPolicyFile } from "./src/policy.ts";
import { reportJson } from "./src/report.ts";
import { openReport } from "./src/cli/report_file.ts";
import { canSetgroups, type RunningSandbox, startSandbox } from "./src/runner.ts";
import { type StdinRelay, stdinRelay } from "./src/cli/stdin_relay.ts";
import { isTerminal, startTerminalSandbox } from "./src/terminal.ts";

export { parseBind } from "./src/cli/flags.ts";

const FORWARDED: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];

function runCommand(state: FlagState, done: (code: number) => void) {
  const cmd = new Command("run")
    .description("run a command in a new sandbox")
    .usage("[options] [-- COMMAND [ARGS...]]")
    .argument("[command...]", "the command and its arguments (default: the policy's command, $SHELL, /bin/sh)");
  addSandboxFlags(cmd, state)
    .option("--report-file <FILE>", "write the result as JSON to FILE")
    .option("-v, --verbose", "log the plan and the result; twice (-vv) for debug lines", (_v, n: number = 0) => n + 1)
    .addHelpText(
      "after",
      `
Examples:
  hakoniwa run -- ls /
  hakoniwa run --ro-bind /etc --limit-walltime 5 -- sh -c 'cat /etc/hostname'
  hakoniwa run --policy-file policies/KISS-policy.toml -v -- /bin/bash
  hakoniwa run -b /etc -B "$PWD":/work -w /work --unshare-all -e TERM -- make
  hakoniwa run --rootdir /srv/rootfs:rw --uidmap 0 --user 0:0 -- /bin/sh`,
    )
    .action(async (commandArgs, o) => {
      const opts = o as SandboxFlags & { verbose?: number; reportFile?: string };
      await setupLogging(!opts.verbose ? "warning" : opts.verbose > 1 ? "debug" : "info");
      const { plan } = await resolve(commandArgs, opts, state);
      logPlan(plan);
      const reportFile = opts.reportFile ? await openReport(opts.reportFile, plan) : null;
      // A stdin that is a file or a device reaches the command through a pipe: it cannot be reopened for writing.
      let relay: StdinRelay | null = null;
      let sandbox: RunningSandbox;
      let tty = false;
      try {
        relay = await stdinRelay();
        const stdio: [number, number, number] = [relay?.fd ?? 0, 1, 2];
        // A terminal on any stdio: the command gets its own pty, which also passes window size changes on.
        tty = (await Promise.all(stdio.map((fd) => isTerminal(fd)))).some((t) => t);
        sandbox = tty
          ? await startTerminalSandbox(plan, { stdio, setgroups: canSetgroups() })
          : await startSandbox(plan, { stdio, session: "new", setgroups: canSetgroups() });
      } catch (e) {
        relay?.stop();
        reportFile?.close();
        throw e;
      }
      relay?.start();
      const forward = FORWARDED.filter((sig) => !tty || sig !== "SIGWINCH").map((sig) =>
        [sig, () => sandbox.kill(sig)] as const
      );
      for (const [sig, fn] of forward) Deno.addSignalListener(sig, fn);
      const report = await sandbox.finished;
      for (const [sig, fn] of forward) Deno.removeSignalListener(sig, fn);
      relay?.stop();
      const json = JSON.stringify(reportJson(report));
      if (report.status === "SE") console.error(`hakoniwa: ${report.reason}`);
      logger("executor").info(`Result: ${json}`);
      if (reportFile) {
        // A report that cannot be written is said once; the exit code stays the command's.
        try {
          await reportFile.write(json + "\n");
        } catch (e) {
          console.error(
            `hakoniwa: --report-file: cannot write ${reportFile.path}: ${e instanceof Error ? e.message : e}`,
          );
        } finally {
          try {
            reportFile.close();
          } catch { /* already reported */ }
        }
      }
      done(report.exitCode);
    });
  return cmd;
}

function explainCommand(state: FlagState) {
  const cmd = new Command("explain")
    .description("print the resolved plan of a run without running anything")
    .usage("[options] [-- COMMAND [ARGS...]]")
    .argument("[command...]", "the command and its arguments")
    .option("--json", "print the plan as JSON");
  addSandboxFlags(cmd, state)
    .addHelpText(
      "after",
      `
Examples:
  hakoniwa explain -- ls /
  hakoniwa explain --policy-file policies/lang-python.toml -- python3 -V
  hakoniwa explain --json --ro-bind /etc --share-net -- curl example.org > plan.json`,
    )
    .action(async (commandArgs, o) => {
      const opts = o as SandboxFlags & { json?: boolean };
      await setupLogging("warning");
      const { plan } = await resolve(commandArgs, opts, state);
      const out = opts.json ? planToJson(plan) + "\n" : planTable(plan);
      await Deno.stdout.write(new TextEncoder().encode(out));
    });
  return cmd;
}

function checkCommand() {
  return new Command("check")
    .description("validate policy files; exit 0 when every one is valid, 2 otherwise")
    .argument("<FILE...>", "policy files")
    .addHelpText(
      "after",
      `
Examples:
  hakoniwa check policies/KISS-policy.toml
  hakoniwa check my-policy.toml && hakoniwa run --policy-file my-policy.toml -- sh`,
    )
    .action(async (files) => {
      for (const file of files) {
        const policy = await loadPolicyFile(file, "check");
        containerFromPolicy(policy); // resolves `user`, checks hostname and limits
        console.log(`${file}: ok (${policy.filesRead.length} file${policy.filesRead.length > 1 ? "s" : ""})`);
      }
    });
}

function completionCommand(program: Command) {
  return new Command("completion")
    .description("print a shell completion script")
    .addArgument(new Argument("<SHELL>", "the shell").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  source <(hakoniwa completion bash)
  hakoniwa completion zsh > "\${fpath[1]}/_hakoniwa"
  hakoniwa completion fish > ~/.config/fish/completions/hakoniwa.fish`,
    )
    .action(async (shell) => {
      await Deno.stdout.write(new TextEncoder().encode(completionScript(program, shell)));
    });
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit
 * code: the command's, 128+N for signal N, 125 when the sandbox could not
 * be set up, 2 for bad usage or an invalid policy.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["run", "--", "ls", "/"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let code = 0;
  const state = newFlagState();
  const program = new Command("hakoniwa")
    .description("Process isolation for Linux: namespaces, limits, seccomp and Landlock")
    .version("0.1.0")
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(str) })
    .addHelpText(
      "after",
      `
Examples:
  hakoniwa run -- ls /
  hakoniwa explain --json -- sh
  hakoniwa check policies/KISS-policy.toml
  source <(hakoniwa completion bash)`,
    );
  const subs: Command[] = [
    runCommand(state, (c) => code = c) as unknown as Command,
    explainCommand(state) as unknown as Command,
    checkCommand() as unknown as Command,
  ];
  subs.push(completionCommand(program as unknown as Command) as unknown as Command);
  for (const sub of subs) {
    sub.exitOverride().showSuggestionAfterError(true).configureOutput({ outputError: (str, write) => write(str) });
    if (sub.name() === "run" || sub.name() === "explain") sub.passThroughOptions();
    program.addCommand(sub);
  }
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
