/**
 * `npm run bench`: hakoniwa side by side with bubblewrap and unshare on
 * this machine, in one run. Contenders are interleaved run by run; the
 * table shows medians and paired ratios; the results go to
 * bench/results/latest.json and bench/results/ratios.svg.
 *
 * ```sh
 * npm run bench              # full: 60 runs per contender
 * npm run bench -- --quick   # 10 runs, for development
 * ```
 *
 * @module
 */
import { adapterMode, defaultContainer, runSandboxed } from "./hakoniwa.ts";
import { denylistFilter, ociProfile } from "./bpf.ts";
import { writeChart } from "./chart.ts";
import {
  BUILD_DIR,
  buildC,
  bwrapArgs,
  capture,
  ensureBwrap,
  interleave,
  median,
  pairedRatio,
  quantile,
  ROOT,
  runQuiet,
  type Samples,
  UNSHARE_ARGS,
} from "./lib.ts";
import { sandboxMemory } from "./memory.ts";
import { warmBreakdown } from "./warm.ts";
import { ioSamples } from "./io_throughput.ts";
import { serverSamples } from "./server_load.ts";
import { staticGraph } from "./graph.ts";
import { writeFloorProbes } from "./rss_floor.ts";
import { ociCycles, stepSamples } from "./oci.ts";

/** One row of the table. */
interface Row {
  name: string;
  median: number;
  p25: number;
  p75: number;
  n: number;
  /** Median of the per-round ratios to the case's baseline. */
  ratio: number;
}

/** One case of the table. */
interface Case {
  id: string;
  title: string;
  unit: string;
  baseline: string;
  better: "lower" | "higher";
  rows: Row[];
  note?: string;
  /** "neutral" when the ratios compare settings rather than hakoniwa with another tool. */
  chart?: "neutral";
  /** Rows that are floors (no sandbox, an empty Deno program), not other tools. */
  floors?: string[];
}

const quick = Deno.args.includes("--quick");
const RUNS = quick ? 10 : 60;
const WARMUP = quick ? 2 : 5;
const DENO = Deno.execPath();
const CLI = `${ROOT}cli.ts`;
const results: Case[] = [];
const FLOORS = ["no sandbox", "deno run empty.ts", "/bin/true"];
let lastSamples: Samples = {};
const began = performance.now();

function summarize(
  id: string,
  title: string,
  unit: string,
  s: Samples,
  baseline: string,
  better: Case["better"] = "lower",
  note?: string,
): Case {
  const rows = Object.entries(s).map(([name, xs]) => ({
    name,
    median: median(xs),
    p25: quantile(xs, 0.25),
    p75: quantile(xs, 0.75),
    n: xs.length,
    ratio: pairedRatio(xs, s[baseline]),
  }));
  const floors = rows.map((r) => r.name).filter((n) => FLOORS.includes(n));
  const c: Case = { id, title, unit, baseline, better, rows, note, ...(floors.length ? { floors } : {}) };
  lastSamples = s;
  results.push(c);
  printCase(c);
  return c;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function printCase(c: Case) {
  console.log(`\n${c.id}. ${c.title}  [${c.unit}, ${c.better} is better; ratio = contender / ${c.baseline}]`);
  const w = Math.max(...c.rows.map((r) => r.name.length), 10);
  console.log(
    `  ${"contender".padEnd(w)}  ${"median".padStart(9)}  ${"p25..p75".padStart(17)}  ${"ratio".padStart(7)}`,
  );
  for (const r of c.rows) {
    console.log(
      `  ${r.name.padEnd(w)}  ${fmt(r.median).padStart(9)}  ${`${fmt(r.p25)}..${fmt(r.p75)}`.padStart(17)}  ${
        fmt(r.ratio).padStart(7)
      }`,
    );
  }
  if (c.note) console.log(`  note: ${c.note}`);
}

function spawnNull(program: string, args: string[]): () => Promise<void> {
  return () => runQuiet(program, args);
}

/** The others as hakoniwa runs: through output() (stdout and stderr piped) when the library has it. */
function spawnLikeHakoniwa(program: string, args: string[]): () => Promise<void> {
  if (mode === "startSandbox") return spawnNull(program, args);
  return async () => {
    const out = await new Deno.Command(program, { args, stdin: "null" }).output();
    if (!out.success) throw new Error(`${program} exited with ${out.code}`);
  };
}

async function cliHas(flag: string): Promise<boolean> {
  const help = await capture(DENO, ["run", "-A", CLI, "run", "--help"]);
  return help.includes(flag);
}

async function hakoniwaOk(): Promise<void> {
  const r = await runSandboxed("/bin/true", []);
  if (r.code !== 0) throw new Error(`bench: a sandboxed /bin/true exited with ${r.code}`);
}

// ---------------------------------------------------------------- setup
await ensureBwrap();
const loop = await buildC("syscalls");
const maxrss = await buildC("maxrss");
const empty = `${BUILD_DIR}empty.ts`;
await Deno.writeTextFile(empty, "");
const bpf = denylistFilter();
const bpfFile = `${BUILD_DIR}denylist.bpf`;
await Deno.writeFile(bpfFile, bpf);
const ociFile = `${BUILD_DIR}denylist-oci.json`;
await Deno.writeTextFile(ociFile, JSON.stringify(ociProfile(), null, 2));
const mode = adapterMode();
const bwrap = bwrapArgs();
const loadBefore = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(
  `hakoniwa bench: ${quick ? "quick, " : ""}${RUNS} runs + ${WARMUP} warm-up per contender, interleaved; ` +
    `library through ${mode}; load average ${loadBefore}`,
);

// ---------------------------------------------------------------- 1. library
await hakoniwaOk();
summarize(
  "1",
  "library: /bin/true from a warm Deno process",
  "ms",
  await interleave(
    [
      { name: "hakoniwa", run: hakoniwaOk },
      { name: "bwrap", run: spawnLikeHakoniwa("bwrap", [...bwrap, "/bin/true"]) },
      { name: "unshare -Urmpf", run: spawnLikeHakoniwa("unshare", [...UNSHARE_ARGS, "/bin/true"]) },
      { name: "no sandbox", run: spawnLikeHakoniwa("/bin/true", []) },
    ],
    RUNS,
    WARMUP,
  ),
  "hakoniwa",
  "lower",
  mode === "output()"
    ? "all through output(): hakoniwa's Container.command(), the others' Deno.Command, stdout and stderr piped"
    : "hakoniwa through startSandbox, the others through Deno.Command, all with stdio on /dev/null",
);

// ---------------------------------------------------------------- 2. CLI cold start
summarize(
  "2",
  "CLI cold start: a new process running /bin/true",
  "ms",
  await interleave(
    [
      { name: "hakoniwa run", run: spawnNull(DENO, ["run", "-A", CLI, "run", "--", "/bin/true"]) },
      { name: "bwrap", run: spawnNull("bwrap", [...bwrap, "/bin/true"]) },
      { name: "deno run empty.ts", run: spawnNull(DENO, ["run", "-A", empty]) },
      { name: "/bin/true", run: spawnNull("/bin/true", []) },
    ],
    RUNS,
    WARMUP,
  ),
  "hakoniwa run",
);
const coldCli = lastSamples;

// ---------------------------------------------------------------- 2b. library cold start
// A new Deno process that imports the library and runs one sandbox: what a script pays before its first sandbox.
const libScript = `${BUILD_DIR}first_sandbox.ts`;
await Deno.writeTextFile(
  libScript,
  mode === "output()"
    ? `import { kissContainer } from "${ROOT}mod.ts";
const out = await kissContainer().command("/bin/true").output();
Deno.exit(out.code);
`
    : `import { runSandboxed } from "${ROOT}bench/hakoniwa.ts";
Deno.exit((await runSandboxed("/bin/true", [])).code);
`,
);
const bwrapScript = `${BUILD_DIR}first_bwrap.ts`;
await Deno.writeTextFile(
  bwrapScript,
  `const out = await new Deno.Command("bwrap", { args: ${JSON.stringify([...bwrap, "/bin/true"])} }).output();
Deno.exit(out.code);
`,
);
summarize(
  "2b",
  "library cold start: a new Deno process importing the library and running one /bin/true",
  "ms",
  await interleave(
    [
      { name: "hakoniwa", run: spawnNull(DENO, ["run", "-A", libScript]) },
      { name: "Deno.Command bwrap", run: spawnNull(DENO, ["run", "-A", bwrapScript]) },
      { name: "deno run empty.ts", run: spawnNull(DENO, ["run", "-A", empty]) },
    ],
    RUNS,
    WARMUP,
  ),
  "hakoniwa",
  "lower",
  `hakoniwa: import mod.ts, kissContainer() (the KISS policy), ${
    mode === "output()" ? "Container.command().output()" : "startSandbox"
  }`,
);
const coldLib = lastSamples;

// ---------------------------------------------------------------- 3. seccomp
const CALLS = "1000000";
const loopDir = BUILD_DIR.replace(/\/$/, "");
function loopNs(program: string, args: string[]): () => Promise<number> {
  return async () => Number(await capture(program, args)) / 1e6;
}
const seccompRuns = Math.max(10, Math.round(RUNS / 2));
if (await cliHas("--seccomp")) {
  for (const profile of ["default", ociFile]) {
    const text = await capture(DENO, [
      "run",
      "-A",
      CLI,
      "run",
      "--seccomp",
      profile,
      "--",
      "/bin/sh",
      "-c",
      "grep '^Seccomp:' /proc/self/status",
    ]);
    if (!/Seccomp:\s+2/.test(text)) throw new Error(`bench: --seccomp ${profile} is not in force: ${text}`);
  }
  const hk = (profile: string) =>
    loopNs(DENO, ["run", "-A", CLI, "run", "--ro-bind", loopDir, "--seccomp", profile, "--", loop, CALLS]);
  const c3 = summarize(
    "3",
    "seccomp: 1M getppid() in a sandbox, loop time only",
    "ms",
    await interleave(
      [
        { name: "unconfined", run: hk("unconfined") },
        { name: "--seccomp default", run: hk("default") },
        { name: "--seccomp OCI json", run: hk(ociFile) },
      ],
      seccompRuns,
      2,
    ),
    "unconfined",
    "lower",
    "the OCI profile is bench's denylist (bench/bpf.ts) as JSON",
  );
  c3.chart = "neutral";
} else {
  const bw = (filter: boolean) => () =>
    capture(
      "sh",
      [
        "-c",
        filter ? 'exec bwrap --seccomp 3 "$@" 3<"$F"' : 'exec bwrap "$@"',
        "sh",
        ...bwrapArgs([loopDir]),
        loop,
        CALLS,
      ].map((a) => a.replace("$F", bpfFile)),
    ).then((t) => Number(t) / 1e6);
  // The filter must really be in force in both tools, or the case measures nothing.
  const status = ["/bin/sh", "-c", "grep '^Seccomp:' /proc/self/status"];
  const inHk = new TextDecoder().decode(
    (await runSandboxed(status[0], status.slice(1), { seccomp: bpf, stdout: true }))
      .stdout,
  );
  const inBwrap = await capture("sh", ["-c", `exec bwrap --seccomp 3 "$@" 3<"${bpfFile}"`, "sh", ...bwrap, ...status]);
  for (const [tool, text] of [["hakoniwa", inHk], ["bwrap", inBwrap]]) {
    if (!/Seccomp:\s+2/.test(text)) throw new Error(`bench: the seccomp filter is not in force in ${tool}: ${text}`);
  }
  const hk = (filter: boolean) => async () =>
    Number(new TextDecoder().decode(
      (await runSandboxed(loop, [CALLS], { binds: [loopDir], seccomp: filter ? bpf : undefined, stdout: true }))
        .stdout,
    )) / 1e6;
  const c3 = summarize(
    "3",
    "seccomp: 1M getppid() in a sandbox, loop time only (same BPF denylist in both tools)",
    "ms",
    await interleave(
      [
        { name: "hakoniwa no filter", run: hk(false) },
        { name: "hakoniwa denylist", run: hk(true) },
        { name: "bwrap no filter", run: bw(false) },
        { name: "bwrap denylist", run: bw(true) },
      ],
      seccompRuns,
      2,
    ),
    "hakoniwa no filter",
    "lower",
    "the CLI has no --seccomp yet: the filter is bench/bpf.ts, handed to the core as SpawnIo.seccomp and to bwrap --seccomp",
  );
  c3.chart = "neutral";
  const own = pairedRatio(lastSamples["bwrap denylist"], lastSamples["bwrap no filter"]);
  c3.note += `; bwrap denylist / bwrap no filter = ${fmt(own)}`;
  console.log(`  bwrap denylist / bwrap no filter: ${fmt(own)}`);
}

// ---------------------------------------------------------------- 4. throughput
async function batch(n: number, concurrency: number, one: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await one();
  }));
  return n / ((performance.now() - t0) / 1000);
}
const tpRounds = quick ? 3 : 7;
for (const c of [1, 8, 64]) {
  const n = Math.max(c * 2, quick ? 16 : 64);
  summarize(
    `4.${c}`,
    `throughput: /bin/true sandboxes per second, ${c} concurrent (${n} per round)`,
    "runs/s",
    await interleave(
      [
        { name: "hakoniwa", run: () => batch(n, c, hakoniwaOk) },
        { name: "bwrap", run: () => batch(n, c, spawnLikeHakoniwa("bwrap", [...bwrap, "/bin/true"])) },
        {
          name: "unshare -Urmpf",
          run: () => batch(n, c, spawnLikeHakoniwa("unshare", [...UNSHARE_ARGS, "/bin/true"])),
        },
      ],
      tpRounds,
      1,
    ),
    "hakoniwa",
    "higher",
  );
}

// ---------------------------------------------------------------- 4b. stdio throughput under load
// Each sandbox pipes 1 MiB through cat (in through stdin, out through stdout, web streams), all in flight at once.
for (const n of [8, 32, 128]) {
  summarize(
    `4b.${n}`,
    `stdio under load: ${n} sandboxes in flight, 1 MiB through cat each way, batch wall time`,
    "ms",
    await ioSamples(n, quick ? 3 : 9, 1),
    "Deno.Command bwrap",
  );
}

// ---------------------------------------------------------------- 4c. the example service under load
summarize(
  "4c",
  "examples/server.ts: 200 requests, 40 in flight, 200 KB of output each (its twin on Deno.Command bwrap)",
  "req/s",
  await serverSamples(quick ? 3 : 7),
  "Deno.Command bwrap",
  "higher",
);

// ---------------------------------------------------------------- 5. memory
const rssOf = (program: string, args: string[]) => async () => {
  const out = await new Deno.Command(maxrss, { args: [program, ...args], stdout: "null", stderr: "piped" }).output();
  return Number(new TextDecoder().decode(out.stderr).trim()) / 1024;
};
const memRuns = quick ? 3 : 10;
summarize(
  "5a",
  "peak RSS of the largest process of a cold CLI run of /bin/true",
  "MiB",
  await interleave(
    [
      { name: "hakoniwa run", run: rssOf(DENO, ["run", "-A", CLI, "run", "--", "/bin/true"]) },
      { name: "bwrap", run: rssOf("bwrap", [...bwrap, "/bin/true"]) },
      { name: "deno run empty.ts", run: rssOf(DENO, ["run", "-A", empty]) },
      { name: "/bin/true", run: rssOf("/bin/true", []) },
    ],
    memRuns,
    1,
  ),
  "hakoniwa run",
);
const coldRss = lastSamples;

// What the CLI's peak RSS cannot go below: Deno doing what a run needs without hakoniwa's code, the CLI's modules
// loaded but not run, and the CLI as one bundled file (bench/rss_floor.ts).
const floors = await writeFloorProbes(BUILD_DIR, CLI);
summarize(
  "5g",
  "peak RSS floors of a cold CLI run (bench/rss_floor.ts)",
  "MiB",
  await interleave(
    [
      { name: "hakoniwa run", run: rssOf(DENO, ["run", "-A", CLI, "run", "--", "/bin/true"]) },
      { name: "one bundled file, run", run: rssOf(DENO, ["run", "-A", ...floors.bundle]) },
      { name: "cli.ts imported only", run: rssOf(DENO, ["run", "-A", ...floors.graph]) },
      { name: "Deno's features of a run", run: rssOf(DENO, ["run", "-A", ...floors.features]) },
      { name: "deno run empty.ts", run: rssOf(DENO, ["run", "-A", empty]) },
    ],
    memRuns,
    1,
  ),
  "deno run empty.ts",
);
const mem: Record<string, Samples> = { rss: {}, pss: {}, priv: {} };
for (let i = 0; i < memRuns; i++) {
  for (
    const [name, m] of await Promise.all([
      sandboxMemory("hakoniwa", (onStart) => runSandboxed("/bin/sleep", ["0.4"], { onStart }).then(() => {})),
      sandboxMemory("bwrap", (onStart) => {
        const child = new Deno.Command("bwrap", { args: [...bwrap, "/bin/sleep", "0.4"], stdout: "null" }).spawn();
        onStart({ pid: child.pid });
        return child.status.then(() => {});
      }),
      sandboxMemory("unshare -Urmpf", (onStart) => {
        const child = new Deno.Command("unshare", { args: [...UNSHARE_ARGS, "/bin/sleep", "0.4"], stdout: "null" })
          .spawn();
        onStart({ pid: child.pid });
        return child.status.then(() => {});
      }),
    ])
  ) {
    (mem.rss[name] ??= []).push(m.rssKb / 1024);
    (mem.pss[name] ??= []).push(m.pssKb / 1024);
    (mem.priv[name] ??= []).push(m.privateKb / 1024);
  }
}
summarize(
  "5b",
  "resident memory of the sandbox's own processes (all but the command) while it runs",
  "MiB RSS",
  mem.rss,
  "hakoniwa",
  "lower",
  "hakoniwa: the two hakoniwa-init processes (monitor and PID 1); bwrap: both bwrap processes; unshare: unshare itself",
);
summarize("5c", "the same, proportional set size (shared pages divided)", "MiB PSS", mem.pss, "hakoniwa");
summarize("5d", "the same, private pages only (what each sandbox adds)", "MiB USS", mem.priv, "hakoniwa");
const reportRss: number[] = [];
for (let i = 0; i < memRuns; i++) reportRss.push(((await runSandboxed("/bin/true", [])).maxRssKb ?? NaN) / 1024);
summarize("5e", "hakoniwa report max_rss of /bin/true (upper bound, see README)", "MiB", {
  "report max_rss": reportRss,
}, "report max_rss");

// ---------------------------------------------------------------- 5f. cold start against Deno's own floor
// What an empty `deno run` costs is the floor; these are the gates of a cold start (medians of paired rounds above),
// and the start-up graphs must hold no node: built-in and no CommonJS (each boots Deno's Node compatibility layer).
const pairedDelta = (s: Samples, a: string, b: string) => median(s[a].map((x, i) => x - s[b][i]));
const coldStart = {
  cliOverEmptyMs: pairedDelta(coldCli, "hakoniwa run", "deno run empty.ts"),
  libraryOverEmptyMs: pairedDelta(coldLib, "hakoniwa", "deno run empty.ts"),
  cliRssOverEmpty: median(coldRss["hakoniwa run"]) / median(coldRss["deno run empty.ts"]),
  graphs: Object.fromEntries(["cli.ts", "mod.ts"].map((entry) => {
    const g = staticGraph(`${ROOT}${entry}`);
    return [entry, { files: g.files.length, builtins: [...g.builtins.keys()], commonjs: g.commonjs.length }];
  })),
};
console.log("\n5f. cold start against an empty `deno run` (gates: +20 ms, +20 ms, 1.3x)");
const gate = (ok: boolean) => ok ? "ok" : "OVER";
console.log(
  `  CLI run -- /bin/true        +${fmt(coldStart.cliOverEmptyMs)} ms  ${gate(coldStart.cliOverEmptyMs <= 20)}`,
);
console.log(
  `  import mod.ts + output()    +${fmt(coldStart.libraryOverEmptyMs)} ms  ${gate(coldStart.libraryOverEmptyMs <= 20)}`,
);
console.log(
  `  CLI peak RSS                ${fmt(coldStart.cliRssOverEmpty)}x    ${gate(coldStart.cliRssOverEmpty <= 1.3)}`,
);
for (const [entry, g] of Object.entries(coldStart.graphs)) {
  console.log(
    `  ${entry} start-up graph: ${g.files} files, node: built-ins ${g.builtins.join(" ") || "none"}, ` +
      `CommonJS files ${g.commonjs}`,
  );
}

// ---------------------------------------------------------------- 6. where the CLI's time goes
const profiles: Record<string, number>[] = [];
const profRuns = quick ? 5 : 25;
for (let i = 0; i < profRuns; i++) {
  profiles.push(JSON.parse(await capture(DENO, ["run", "-A", `${ROOT}bench/profile.ts`])));
}
const profile = Object.fromEntries(Object.keys(profiles[0]).map((k) => [k, median(profiles.map((p) => p[k]))]));
console.log(`\n6. where a cold \`hakoniwa run -- /bin/true\` spends its time (median ms of ${profRuns} runs)`);
for (const [k, v] of Object.entries(profile)) console.log(`  ${k.padEnd(46)} ${fmt(v).padStart(7)}`);

// ---------------------------------------------------------------- 6b. where the CLI's resident memory goes
const memoryRuns = quick ? 3 : 9;
const memorySteps: Record<string, Record<string, number>>[] = [];
for (let i = 0; i < memoryRuns; i++) {
  memorySteps.push(JSON.parse(await capture(DENO, ["run", "-A", `${ROOT}bench/profile_memory.ts`])));
}
const memoryProfile = Object.fromEntries(
  Object.keys(memorySteps[0]).map((step) => [
    step,
    Object.fromEntries(["deno", "anon", "files"].map((kind) => [kind, median(memorySteps.map((m) => m[step][kind]))])),
  ]),
);
console.log(
  `\n6b. where a cold \`hakoniwa run -- /bin/true\` puts its resident memory (median MiB of ${memoryRuns} runs, ` +
    "bench/profile_memory.ts: the deno binary's pages, anonymous memory, other files)",
);
for (const [k, v] of Object.entries(memoryProfile)) {
  console.log(`  ${k.padEnd(46)} ${fmt(v.deno).padStart(7)} ${fmt(v.anon).padStart(7)} ${fmt(v.files).padStart(7)}`);
}

// ---------------------------------------------------------------- 7. where a warm run's time goes
const warm = await warmBreakdown(RUNS);
console.log(`\n7a. where a warm library run of /bin/true spends its time (median ms of ${RUNS} runs)`);
for (const [k, v] of Object.entries(warm.phases)) console.log(`  ${k.padEnd(46)} ${fmt(v).padStart(7)}`);
const c7 = summarize(
  "7b",
  "warm run of /bin/true without parts of the default policy (internal path)",
  "ms",
  warm.variants,
  "default policy",
);
c7.chart = "neutral";

// ---------------------------------------------------------------- 8. start cost against the launcher's size
// Last, since it grows this process. The sandbox is exec'd (hakoniwa-init), never a copy of the launcher, so its
// cost must not follow the launcher's size: 8.growth is hakoniwa's own median at +512 MiB over its median at +0.
const ballast: Uint8Array[] = [];
const sizeRuns = quick ? 10 : 30;
const ownMedian: Record<number, number> = {};
for (const extra of [0, 512]) {
  while (ballast.length * 16 < extra) ballast.push(new Uint8Array(16 << 20).fill(1));
  const rss = Number(/VmRSS:\s+(\d+)/.exec(await Deno.readTextFile("/proc/self/status"))?.[1]) / 1024;
  const c8 = summarize(
    `8.${extra}`,
    `library run of /bin/true from a launcher holding ${extra} MiB more (RSS ${rss.toFixed(0)} MiB)`,
    "ms",
    await interleave(
      [
        { name: "hakoniwa", run: hakoniwaOk },
        { name: "bwrap", run: spawnLikeHakoniwa("bwrap", [...bwrap, "/bin/true"]) },
      ],
      sizeRuns,
      3,
    ),
    "hakoniwa",
  );
  ownMedian[extra] = c8.rows.find((r) => r.name === "hakoniwa")!.median;
}
const growth = ownMedian[512] / ownMedian[0];
console.log(`  8.growth: hakoniwa at +512 MiB / at +0 MiB = ${fmt(growth)}`);
results.push({
  id: "8.growth",
  title: "hakoniwa's own start time at +512 MiB in the launcher over at +0 MiB",
  unit: "ratio",
  baseline: "8.0",
  better: "lower",
  rows: [{ name: "hakoniwa", median: growth, p25: growth, p75: growth, n: 1, ratio: growth }],
  chart: "neutral",
});

// ---------------------------------------------------------------- 9. the launcher's writes while a sandbox lives
// Rewriting 256 MiB of the launcher's memory with no sandbox alive, and while one runs (sleep): a sandbox that
// shared the launcher's pages copy-on-write would make every first write to a page fault.
ballast.length = 0;
const heap = new Uint8Array(256 << 20).fill(1);
let fillValue = 2;
const rewrite = () => {
  const t0 = performance.now();
  heap.fill(fillValue++ & 0xff);
  return performance.now() - t0;
};
const alive = defaultContainer();
const c9 = summarize(
  "9",
  "rewriting 256 MiB of the launcher's memory, with no sandbox and while one lives",
  "ms",
  await interleave(
    [
      { name: "no sandbox", run: () => Promise.resolve(rewrite()) },
      {
        name: "while a sandbox lives",
        run: async () => {
          const child = alive.command("/bin/sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
          await new Promise((r) => setTimeout(r, 20)); // setup done: the command sleeps
          const ms = rewrite();
          child.kill("SIGKILL");
          await child.status;
          return ms;
        },
      },
    ],
    quick ? 5 : 15,
    2,
  ),
  "no sandbox",
);
c9.chart = "neutral";

// ---------------------------------------------------------------- 10. OCI runtime
// podman calls the runtime at least four times per container: create, start, (kill,) delete. bin/hakoniwa-oci does
// start and delete in C (native/oci_front.c), and create through the root's warm decider (src/oci/decider.ts), which
// decides while the front end spawns; "create in Deno" runs every create in a Deno of its own (a root's first create).
const ociRuns = quick ? 10 : 40;
summarize(
  "10",
  "OCI runtime: create + start + delete --force of a container running /bin/true (busybox root, runc's default config)",
  "ms",
  await ociCycles(ociRuns, quick ? 2 : 3),
  "runc",
  "lower",
  "each step a new process of the runtime, as podman and containerd run it; medians of the steps: " +
    Object.entries(stepSamples).map(([name, st]) =>
      `${name} create ${fmt(median(st.create))}, start ${fmt(median(st.start))}, delete ${fmt(median(st.delete))}`
    ).join("; "),
);

// ---------------------------------------------------------------- output
const kernel = (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim();
const out = {
  date: new Date().toISOString(),
  quick,
  runs: RUNS,
  warmup: WARMUP,
  library: mode,
  machine: {
    kernel,
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    bwrap: (await capture("bwrap", ["--version"])).trim(),
    loadavgBefore: loadBefore,
    loadavgAfter: (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" "),
  },
  cases: results,
  profile,
  memoryProfile,
  coldStart,
  warmPhases: warm.phases,
  seconds: (performance.now() - began) / 1000,
};
const dir = `${ROOT}bench/results/`;
await Deno.mkdir(dir, { recursive: true });
await Deno.writeTextFile(`${dir}latest.json`, JSON.stringify(out, null, 2) + "\n");
await writeChart(`${dir}latest.json`, `${dir}ratios.svg`);
console.log(`\nwrote bench/results/latest.json and bench/results/ratios.svg in ${out.seconds.toFixed(0)} s`);
