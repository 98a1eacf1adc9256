/**
 * The seed's Rust example, in TypeScript: almost the same as
 * `hakoniwa run --policy-file KISS-policy.toml -- $SHELL`.
 *
 * Run it: deno run -A examples/seed.ts [PROGRAM [ARGS...]]
 */
import { Sandbox, SandboxPolicy, Stdio } from "../mod.ts";

const policy = SandboxPolicy.fromStr(`
mount_new_tmpfs = true
mount_new_devfs = true
mounts = [
  { source = "/bin"  , target = "/bin"  },
  { source = "/lib"  , target = "/lib"  },
  { source = "/lib64", target = "/lib64"},
  { source = "/usr"  , target = "/usr"  },
]

[env]
TERM = {{ os_env "TERM" }}
`);

const sandbox = new Sandbox();
sandbox.withPolicy(policy);

const prog = Deno.args[0] ?? Deno.env.get("SHELL") ?? "/bin/sh";
const argv = Deno.args.length ? Deno.args : [prog];
const executor = sandbox.command(prog, argv);
const result = await executor
  // .roBind("/etc", "/myetc")   // --ro-bind /etc:/myetc
  // .rwBind("/data", "/data")   // --rw-bind /data
  // .limitCpu(2)                // --limit-cpu 2
  // .limitWalltime(5)           // --limit-walltime 5
  .stdout(Stdio.inherit())
  .stderr(Stdio.inherit())
  .stdin(Stdio.inherit())
  .run();

if (result.status === "SE") console.error(`hakoniwa: ${result.reason}`);
Deno.exit(result.exitCode);
