/**
 * `npm run compile`: builds a standalone `hakoniwa` binary with
 * `deno compile`. The native core travels inside the module graph
 * (src/generated/native.js), so the binary needs no other file. The modules
 * the CLI imports through specifiers made at run time (kept off its
 * start-up graph, see {@link LATER_MODULES}) are named to `deno compile`
 * with `--include`.
 *
 * `deno compile` needs `denort`, the runtime it copies into the binary. It
 * downloads it from dl.deno.land on first use (into DENO_DIR), unless the
 * `DENORT_BIN` environment variable names a local copy. Without either the
 * compile fails; this script then says so and exits 3.
 *
 * Usage: deno run -A scripts/compile.ts [--output PATH]
 */
const root = new URL("../", import.meta.url).pathname;
const at = Deno.args.indexOf("--output");
const output = at >= 0 ? Deno.args[at + 1] : `${root}dist/hakoniwa`;

/** Exit status when denort cannot be had (downloaded or given by DENORT_BIN). */
export const NO_DENORT = 3;

/**
 * The modules the CLI imports through a specifier made at run time, so that Deno's module graph does not resolve
 * them (and the npm packages beneath them) at start-up: the command tree of help and the other subcommands, logtape
 * for -v/-vv, the policy parser, the 1.x config reader, handlebars for policies that need it. tests/hygiene_test.ts checks the list against the sources.
 */
export const LATER_MODULES = [
  "src/cli/app.ts",
  "src/common/log_logtape.ts",
  "src/policy/policy.ts",
  "src/policy/compat/config.ts",
  "src/policy/handlebars.ts",
  "src/net/proxy.ts",
];

if (import.meta.main) await compile();

async function compile() {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "-A",
      ...LATER_MODULES.flatMap((m) => ["--include", `${root}${m}`]),
      "--output",
      output,
      `${root}cli.ts`,
    ],
    cwd: root,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    Deno.stderr.writeSync(out.stderr);
    if (/denort|dl\.deno\.land|dns error|download|error sending request|failed to lookup address/i.test(stderr)) {
      console.error(
        "compile: deno compile needs denort, downloaded from dl.deno.land on first use; it cannot be had here " +
          "(set DENORT_BIN to a local denort to compile offline)",
      );
      Deno.exit(NO_DENORT);
    }
    Deno.exit(1);
  }
  Deno.stderr.writeSync(out.stderr);
  console.log(`compile: wrote ${output}`);
}
