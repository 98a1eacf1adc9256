/**
 * The CLI's command tree on @stricli/core: help and `--version`, `check`,
 * `completion` and `help`. `run` and `explain` are declared here for their
 * help; they parse in src/cli/parse.ts. cli.ts loads this module only when
 * an invocation needs it, through a specifier Deno's module graph does not
 * follow, so that a run never boots Deno's npm resolver.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { type Application, type ApplicationContext, buildRouteMap, run, text_en } from "npm:@stricli/core@1.3.0";
// deno-lint-ignore no-import-prefix
import type { FlagParametersForType } from "npm:@stricli/core@1.3.0";
// deno-lint-ignore no-import-prefix
import { buildApplication, buildCommand, help, version } from "npm:@stricli/core@1.3.0";
import type { AppHost, AppModule, Subcommand } from "./app_types.ts";
import { UsageError } from "../common/errors.ts";
import { didYouMean } from "../common/suggest.ts";
import { argumentError, parserFlags } from "./args.ts";
import { EXPLAIN_FLAGS, type FlagSpec, RUN_FLAGS } from "./flags.ts";
import { type Shell, SHELLS } from "./shells.ts";

const ROOT_EXAMPLES = [
  "hakoniwa run -- ls /",
  "hakoniwa explain --json -- sh",
  "hakoniwa check policies/KISS-policy.toml",
  "source <(hakoniwa completion bash)",
];

function describe(brief: string, examples: string[]): string {
  return `${brief}\n\nExamples:\n${examples.map((e) => `  ${e}`).join("\n")}`;
}

/** What the commands report back to {@link runApp}. */
interface Outcome {
  code: number;
  failure?: unknown;
}

function buildApp(host: AppHost, context: ApplicationContext, out: Outcome): Application<ApplicationContext> {
  const { SUBCOMMANDS, VERSION } = host;
  const sub = (name: string) => SUBCOMMANDS.find((s) => s.name === name)!;
  const docs = (s: Subcommand) => ({
    brief: s.brief,
    fullDescription: describe(s.brief, s.examples),
    customUsage: [s.usage],
  });
  const guard = (fn: () => Promise<number | void>) => async () => {
    try {
      out.code = (await fn()) ?? 0;
    } catch (e) {
      out.failure = e;
    }
  };
  // Declared for their help only: main() parses and runs them itself (src/cli/parse.ts).
  const sandboxCommand = (s: Subcommand, table: readonly FlagSpec[]) =>
    buildCommand({
      func: (_flags: Record<string, unknown>, ..._command: string[]) =>
        guard(() => Promise.reject(new Error(`${s.name} is parsed by src/cli/parse.ts, not here`)))(),
      parameters: {
        // The table's values are typed per flag when they are applied (flags.ts), not here.
        flags: parserFlags(table).flags as unknown as FlagParametersForType<Record<string, unknown>>,
        aliases: parserFlags(table).aliases,
        positional: {
          kind: "array",
          parameter: { brief: "the command and its arguments", placeholder: "COMMAND", parse: String },
        },
      },
      docs: docs(s),
    });
  const check = buildCommand({
    func: (_flags: NonNullable<unknown>, ...files: string[]) => guard(async () => (await host.check(files)) ? 2 : 0)(),
    parameters: {
      positional: {
        kind: "array",
        minimum: 1,
        parameter: { brief: "policy files", placeholder: "FILE", parse: String },
      },
    },
    docs: docs(sub("check")),
  });
  const completion = buildCommand({
    func: (flags: { file?: string }, shell: Shell) =>
      guard(async () => {
        // The generators load only for this subcommand.
        const script = (await import("./completion.ts")).completionScript(SUBCOMMANDS, shell);
        if (flags.file === undefined) return host.write(script);
        const written = (await import("./completion_file.ts")).writeCompletionFile(flags.file, script);
        host.write(`wrote the ${shell} completion to ${written}\n`);
      })(),
    parameters: {
      flags: {
        file: {
          kind: "parsed",
          parse: String,
          brief: sub("completion").flags[0].brief,
          placeholder: "FILE",
          optional: true,
        },
      },
      aliases: { f: "file" },
      positional: {
        kind: "tuple",
        parameters: [{
          brief: "the shell",
          placeholder: "SHELL",
          parse: (v: string): Shell => {
            if (!(SHELLS as readonly string[]).includes(v)) {
              throw new UsageError(`completion: expected ${SHELLS.join(", ")}, got "${v}"`);
            }
            return v as Shell;
          },
        }],
      },
    },
    docs: docs(sub("completion")),
  });
  const helpCommand = buildCommand({
    func: (_flags: NonNullable<unknown>, name?: string) =>
      guard(async () => {
        const names = SUBCOMMANDS.map((s) => s.name);
        if (name !== undefined && !names.includes(name)) {
          const near = didYouMean(name, names);
          throw new UsageError(`help: unknown command "${name}"${near ? `; did you mean ${near}?` : ""}`);
        }
        await run(app, name === undefined ? ["--help"] : [name, "--help"], context);
      })(),
    parameters: {
      positional: {
        kind: "tuple",
        parameters: [{ brief: "a command", placeholder: "COMMAND", parse: String, optional: true }],
      },
    },
    docs: docs(sub("help")),
  });
  const root = buildRouteMap({
    routes: {
      run: sandboxCommand(sub("run"), RUN_FLAGS),
      explain: sandboxCommand(sub("explain"), EXPLAIN_FLAGS),
      check,
      completion,
      help: helpCommand,
    },
    docs: {
      brief: "Process isolation for Linux: namespaces, limits, seccomp and Landlock",
      fullDescription: describe("Process isolation for Linux: namespaces, limits, seccomp and Landlock", ROOT_EXAMPLES),
    },
  });
  const app: Application<ApplicationContext> = buildApplication(root, {
    name: "hakoniwa",
    scanner: { allowArgumentEscapeSequence: true },
    documentation: { disableAnsiColor: true },
    localization: {
      text: {
        ...text_en,
        noCommandRegisteredForInput: ({ input, corrections }) => {
          const near = corrections.map((c) => c.replaceAll("`", ""));
          return `unknown command "${input}"${near.length ? `; did you mean ${near.join(" or ")}?` : ""}`;
        },
        exceptionWhileParsingArguments: (exc: unknown) => argumentError(exc),
      },
    },
  }, {
    help: help({
      brief: "show help",
      alias: "h",
      defaultForRouteMap: true,
      formatting: { useAliasInUsageLine: false, onlyRequiredInUsageLine: true, caseStyle: "original" },
    }),
    version: version({ brief: "print the version", alias: "V", info: { currentVersion: VERSION } }),
  });
  return app;
}

/**
 * Runs the command tree on `args` (the subcommand first) and returns the
 * exit code. A command's failure is thrown for cli.ts to say; the parser's
 * own complaint is thrown as a {@link UsageError} of one line.
 *
 * @example
 * ```ts ignore
 * const code = await runApp(["check", "policies/KISS-policy.toml"], host);
 * ```
 */
export const runApp: AppModule["runApp"] = async (args, host) => {
  const errors: string[] = [];
  const context = {
    process: {
      stdout: { write: (text: string) => host.write(text) },
      stderr: { write: (text: string) => void errors.push(text) },
      env: {},
      exitCode: undefined as number | string | null | undefined,
    },
  };
  const out: Outcome = { code: 0 };
  await run(buildApp(host, context, out), args, context);
  if (out.failure !== undefined) throw out.failure;
  // The parser's complaint (it may find several; the first is the one to fix).
  if (errors.length) throw new UsageError(errors[0]);
  return out.code;
};
