/**
 * Runs `hakoniwa run [-v...] -c|--config FILE [-- COMMAND...]` the way the
 * CLI will once it wires `-c` to `loadConfig1x`: the config's policy alone
 * (no KISS policy underneath), the command from the arguments, else the
 * config's `command.cmdline`, else /bin/sh. The compat suite uses it for
 * the 1.x config cases while the CLI has no `-c`; it exits with the
 * sandbox's code (125 when setup fails, 2 for a bad config).
 *
 * @module
 */
import { loadConfig1x } from "../../src/compat/config.ts";
import { containerFromPolicy } from "../../src/policy.ts";

const args = Deno.args[0] === "run" ? Deno.args.slice(1) : [...Deno.args];
let config: string | undefined;
let rest: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--") {
    rest = args.slice(i + 1);
    break;
  } else if (a === "-c" || a === "--config") config = args[++i];
  else if (a.startsWith("--config=")) config = a.slice("--config=".length);
  else if (!/^-v+$/.test(a) && a !== "--verbose") {
    console.error(`config_driver: unsupported argument ${a}`);
    Deno.exit(2);
  }
}
if (!config) {
  console.error("config_driver: -c FILE is required");
  Deno.exit(2);
}
let code: number;
try {
  const policy = await loadConfig1x(config);
  const argv = rest.length ? rest : policy.command?.argv.length ? policy.command.argv : ["/bin/sh"];
  const child = containerFromPolicy(policy)
    .command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "inherit", stderr: "inherit" })
    .spawn();
  code = (await child.status).code;
} catch (e) {
  const err = e as Error;
  console.error(`hakoniwa: ${err.message}`);
  code = err.name === "PolicyError" || err.name === "UsageError" ? 2 : 125;
}
Deno.exit(code);
