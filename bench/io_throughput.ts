/**
 * Stdio throughput under load: a batch of sandboxes all in flight at once,
 * each piping 1 MiB through `/bin/cat` (1 MiB in through stdin, 1 MiB out
 * through stdout, both as web streams), hakoniwa's `spawn()` side by side
 * with `Deno.Command("bwrap")` in the same process, rounds interleaved.
 * Every byte is checked; the figure is the batch's wall time.
 *
 * ```sh
 * deno run -A bench/io_throughput.ts            # 8, 32 and 128 in flight
 * deno run -A bench/io_throughput.ts --quick
 * ```
 *
 * @module
 */
import { defaultContainer } from "./hakoniwa.ts";
import { bwrapArgs, ensureBwrap, interleave, median, pairedRatio, type Samples } from "./lib.ts";

const MiB = 1 << 20;
const DATA = new Uint8Array(MiB).map((_, i) => (i * 131 + 17) & 255);

/** A child with piped stdin and stdout: what both tools give. */
interface Piped {
  stdin: WritableStream<Uint8Array>;
  stdout: ReadableStream<Uint8Array>;
  status: Promise<{ success: boolean }>;
}

/** Feeds DATA to the child and checks that exactly DATA comes back. */
async function roundTrip(child: Piped): Promise<void> {
  const fed = (async () => {
    const w = child.stdin.getWriter();
    await w.write(DATA);
    await w.close();
  })();
  let at = 0;
  for await (const part of child.stdout) {
    for (let i = 0; i < part.length; i++) {
      if (part[i] !== DATA[at + i]) throw new Error(`bench: byte ${at + i} differs`);
    }
    at += part.length;
  }
  await fed;
  if (at !== MiB) throw new Error(`bench: ${at} bytes came back, not ${MiB}`);
  if (!(await child.status).success) throw new Error("bench: cat failed");
}

/** The two contenders: one sandboxed cat each. */
export function ioContenders(): Record<string, () => Piped> {
  const container = defaultContainer();
  const bwrap = bwrapArgs();
  return {
    hakoniwa: () => container.command("/bin/cat", { stdin: "piped", stdout: "piped", stderr: "null" }).spawn(),
    "Deno.Command bwrap": () =>
      new Deno.Command("bwrap", { args: [...bwrap, "/bin/cat"], stdin: "piped", stdout: "piped", stderr: "null" })
        .spawn(),
  };
}

/** The wall time in ms of `n` round trips all in flight at once. */
export async function ioBatch(n: number, spawn: () => Piped): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => roundTrip(spawn())));
  return performance.now() - t0;
}

/** Interleaved rounds of every contender at `n` in flight. */
export function ioSamples(n: number, rounds: number, warmup: number): Promise<Samples> {
  return interleave(
    Object.entries(ioContenders()).map(([name, spawn]) => ({ name, run: () => ioBatch(n, spawn) })),
    rounds,
    warmup,
  );
}

if (import.meta.main) {
  await ensureBwrap();
  const quick = Deno.args.includes("--quick");
  for (const n of [8, 32, 128]) {
    const s = await ioSamples(n, quick ? 3 : 9, 1);
    const [h, b] = [s["hakoniwa"], s["Deno.Command bwrap"]];
    console.log(
      `${n} in flight, 1 MiB each way: hakoniwa ${median(h).toFixed(0)} ms, ` +
        `Deno.Command bwrap ${median(b).toFixed(0)} ms, ratio ${pairedRatio(h, b).toFixed(2)}`,
    );
  }
}
