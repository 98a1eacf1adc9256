/**
 * Probes that bound the CLI's peak RSS from below, for case 5g: each is a
 * file in the bench's build directory, run cold under bench/c/maxrss like the
 * CLI. `features` does what a run makes Deno do, without a line of
 * hakoniwa: FFI (a library opened, a synchronous call with a struct result,
 * a non-blocking call), a Web Crypto digest of 64 KiB, the file calls of a
 * plan, seven signal listeners. `graph` only imports cli.ts (its modules
 * loaded and evaluated, nothing run). `bundle` is cli.ts made one
 * tree-shaken JavaScript file by `deno bundle` (not what ships: it shows
 * what the module files themselves cost).
 *
 * @module
 */

const FEATURES = `
const libc = Deno.dlopen("libc.so.6", {
  syscall: { parameters: ["i64", "i64", "i64", "i64"], result: { struct: ["i64"] } },
  usleep: { parameters: ["u32"], result: "i32", nonblocking: true },
});
libc.symbols.syscall(39n, 0n, 0n, 0n);
await crypto.subtle.digest("SHA-256", Uint8Array.fromBase64("QUJD".repeat(21846)));
for (const p of ["/bin", "/lib", "/usr", "/lib64", "/etc"]) { Deno.realPathSync(p); Deno.statSync(p); }
Deno.readTextFileSync("/proc/self/status");
Deno.env.get("HOME"); Deno.uid(); Deno.stdin.isTerminal();
const f = () => {};
const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"];
for (const s of signals) Deno.addSignalListener(s, f);
await libc.symbols.usleep(1000);
for (const s of signals) Deno.removeSignalListener(s, f);
`;

/**
 * Writes the probes into `dir` (which must end in `/`) and returns the
 * argv of each after `deno run -A`.
 *
 * @example
 * ```ts ignore
 * const probes = await writeFloorProbes("bench/.bench/", "cli.ts");
 * console.log(Object.keys(probes)); // [ "features", "graph", "bundle" ]
 * ```
 */
export async function writeFloorProbes(dir: string, cli: string): Promise<Record<string, string[]>> {
  await Deno.writeTextFile(`${dir}floor_features.ts`, FEATURES);
  await Deno.writeTextFile(`${dir}floor_graph.ts`, `import ${JSON.stringify(cli)};\n`);
  const bundle = `${dir}floor_bundle.js`;
  const made = await new Deno.Command(Deno.execPath(), { args: ["bundle", "-q", cli, "-o", bundle] }).output();
  if (!made.success) throw new Error(`bench: deno bundle failed: ${new TextDecoder().decode(made.stderr)}`);
  return {
    features: [`${dir}floor_features.ts`],
    graph: [`${dir}floor_graph.ts`],
    bundle: [bundle, "run", "--", "/bin/true"],
  };
}
