/**
 * Seccomp overhead, run by hand (not part of the test suite):
 *
 * ```sh
 * node_modules/.bin/deno run -A bench/seccomp_bench.ts [--rounds 15] [--calls 1000000]
 * ```
 *
 * Builds native/tests/seccomp_probe.c, then runs its `loop` mode (COUNT raw
 * getppid syscalls) and `readloop` mode (COUNT one-byte reads of
 * /dev/zero), timed inside the sandbox so start-up does not count, in
 * sandboxes with each profile, interleaved round by round so drift and
 * other load hit every profile alike. Prints the median nanoseconds per
 * call of each profile and its ratio to `unconfined`; the goal for
 * `default` is at most 1.05. A third workload, 15 `gcc -O2 -c` runs of a
 * small file, shows what a real program pays. `allow-all` is an OCI profile that allows
 * everything: the fixed cost of having any seccomp filter at all (the
 * kernel's slower syscall entry), which no profile can go below.
 *
 * @module
 */
const root = new URL("../", import.meta.url).pathname;
const arg = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
};
const rounds = arg("rounds", 15);
const calls = arg("calls", 1_000_000);
const dir = await Deno.makeTempDir({ prefix: "hakoniwa-bench-" });
await Deno.chmod(dir, 0o755);
await Deno.writeTextFile(`${dir}/allow-all.json`, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW" }));
const allProfiles = [
  "unconfined",
  `${dir}/allow-all.json`,
  "default",
  "strict",
  `${root}policies/seccomp-allowlist.toml`,
];
const gcc = await new Deno.Command("gcc", {
  args: ["-O2", "-o", `${dir}/probe`, `${root}native/tests/seccomp_probe.c`],
}).output();
if (!gcc.success) throw new Error(new TextDecoder().decode(gcc.stderr));

const GCC_RUNS = 15;
const GCC = `printf 'int f(int x){return x*3;}\\nint main(void){return f(2);}\\n' > /tmp/a.c
s=$(date +%s%N); for i in $(seq ${GCC_RUNS}); do gcc -O2 -c /tmp/a.c -o /tmp/a.o; done; echo $(($(date +%s%N) - s))`;

async function once(profile: string, mode: string): Promise<number> {
  const how = profile.endsWith(".toml")
    ? ["--policy-file", profile, "--ro-bind", `${dir}:/probe`]
    : ["--seccomp", profile, "--ro-bind", `${dir}:/probe`];
  const command = mode === "gcc"
    ? ["--setenv", "PATH=/usr/bin:/bin", "--", "/bin/sh", "-c", GCC]
    : ["--", "/probe/probe", mode, String(calls)];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", `${root}cli.ts`, "run", ...how, ...command],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || !/^\d+$/.test(text)) {
    throw new Error(`${profile}: exit ${out.code}: ${text} ${new TextDecoder().decode(out.stderr)}`);
  }
  return mode === "gcc" ? Number(text) / 1e6 : Number(text) / calls;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const mode of ["loop", "readloop", "gcc"]) {
  // The allowlist policy is too tight for gcc.
  const profiles = mode === "gcc" ? allProfiles.filter((p) => !p.endsWith(".toml")) : allProfiles;
  const times = new Map<string, number[]>(profiles.map((p) => [p, []]));
  for (const p of profiles) await once(p, mode); // warm-up
  for (let r = 0; r < rounds; r++) {
    // Alternate the order each round.
    for (const p of r % 2 ? [...profiles].reverse() : profiles) times.get(p)!.push(await once(p, mode));
  }
  const base = median(times.get("unconfined")!);
  const what = mode === "loop"
    ? `${calls} getppid calls`
    : mode === "readloop"
    ? `${calls} one-byte reads of /dev/zero`
    : `${GCC_RUNS} gcc -O2 -c runs`;
  console.log(`\n${what} per run, ${rounds} interleaved rounds, medians:`);
  for (const [p, xs] of times) {
    const m = median(xs);
    const name = p.replace(root, "").replace(`${dir}/`, "").replace(/\.json$/, "");
    console.log(
      `${name.padEnd(34)} ${m.toFixed(1).padStart(7)} ${mode === "gcc" ? "ms (all)" : "ns/call "} ratio ${
        (m / base).toFixed(3)
      }  ` +
        `(min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`,
    );
  }
}
await Deno.remove(dir, { recursive: true });
