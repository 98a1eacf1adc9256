/**
 * Spawn latency of `Command.output()` for /bin/true from a warm process,
 * next to `Deno.Command` running /bin/true directly: interleaved, same
 * process, median over N runs each (default 200).
 *
 * Usage: deno run -A bench/spawn_latency.ts [N]
 */
import { Container } from "../mod.ts";

const N = Number(Deno.args[0] ?? 200);
const sandboxed = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", {
  optional: true,
});

async function hakoniwa(): Promise<number> {
  const t = performance.now();
  const out = await sandboxed.command("/bin/true").output();
  if (!out.success) throw new Error(`sandboxed /bin/true failed: ${out.report.reason}`);
  return performance.now() - t;
}

async function plain(): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command("/bin/true", { stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error("/bin/true failed");
  return performance.now() - t;
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}

// Warm up both paths (library load, thread pool, page cache).
for (let i = 0; i < 10; i++) await hakoniwa(), await plain();
const a: number[] = [], b: number[] = [];
for (let i = 0; i < N; i++) {
  if (i % 2) a.push(await hakoniwa()), b.push(await plain());
  else b.push(await plain()), a.push(await hakoniwa());
}
const fmt = (x: number) => x.toFixed(2).padStart(7);
console.log(`runs: ${N} each, interleaved; ms (median, p10, p90, min, max)`);
for (const [name, xs] of [["Container.command().output()", a], ["Deno.Command().output()", b]] as const) {
  const r = stats(xs);
  console.log(`${name.padEnd(30)}${fmt(r.median)}${fmt(r.p10)}${fmt(r.p90)}${fmt(r.min)}${fmt(r.max)}`);
}
console.log(`ratio of medians: ${(stats(a).median / stats(b).median).toFixed(2)}`);
