/**
 * The OCI runtime's cycle as podman and containerd drive it: `create` (returns with the container's init waiting),
 * `start`, `delete --force`, of a container running /bin/true from a busybox root, by bin/hakoniwa-oci (its create
 * decided by the root's warm decider, and again with every create in a Deno of its own) and by runc, interleaved
 * round by round. Each step is a new process of the runtime, as callers run it. Case 10 of bench/run.ts;
 * alone: `deno run -A bench/oci.ts [--runs N]` prints the medians.
 *
 * @module
 */
import { buildRootfs } from "../tests/rootfs.ts";
import { interleave, median, type Samples } from "./lib.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** A bundle (busybox root, runc's default config running /bin/true) in a new temporary directory. */
export function trueBundle(): string {
  const dir = Deno.makeTempDirSync({ prefix: "hakoniwa-bench-oci-" });
  buildRootfs(`${dir}/rootfs`);
  const spec = new Deno.Command("runc", { args: ["spec", "--bundle", dir], stderr: "null" }).outputSync();
  if (!spec.success) throw new Error("runc spec failed: is runc installed (scripts/debian_deps.sh)?");
  const config = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
  config.process.args = ["/bin/true"];
  config.process.terminal = false;
  Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(config, null, 2));
  return dir;
}

async function step(runtime: string, args: string[], env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  // create hands its stdio to the container, which keeps it until it ends: /dev/null, so nothing waits for it.
  const out = await new Deno.Command(runtime, { args, env, stdin: "null", stdout: "null", stderr: "null" }).output();
  if (!out.success) throw new Error(`${runtime} ${args.join(" ")} failed (exit ${out.code})`);
  return performance.now() - t0;
}

/** Per-step samples of the last measurement (create, start, delete), by contender. */
export const stepSamples: Record<string, Record<"create" | "start" | "delete", number[]>> = {};

/** One cycle of `runtime` with state in `state`; its steps' times go to stepSamples[name]. */
function cycle(
  name: string,
  runtime: string,
  bundle: string,
  state: string,
  env: Record<string, string> = {},
): () => Promise<void> {
  let n = 0;
  stepSamples[name] = { create: [], start: [], delete: [] };
  return async () => {
    const id = `bench-${Deno.pid}-${n++}`;
    const s = stepSamples[name];
    s.create.push(await step(runtime, ["--root", state, "create", "--bundle", bundle, id], env));
    s.start.push(await step(runtime, ["--root", state, "start", id], env));
    s.delete.push(await step(runtime, ["--root", state, "delete", "--force", id], env));
  };
}

/**
 * The cycle of hakoniwa-oci and runc, interleaved: whole-cycle samples by contender (stepSamples has the steps).
 *
 * @example
 * ```ts ignore
 * const samples = await ociCycles(30, 3);
 * ```
 */
export async function ociCycles(runs: number, warmup: number): Promise<Samples> {
  const bundle = trueBundle();
  try {
    const samples = await interleave(
      [
        { name: "hakoniwa-oci", run: cycle("hakoniwa-oci", `${ROOT}bin/hakoniwa-oci`, bundle, `${bundle}/hk-state`) },
        // Every create in a Deno of its own: the first create of a root, or HAKONIWA_OCI_DECIDER=0.
        {
          name: "hakoniwa-oci, create in Deno",
          run: cycle("hakoniwa-oci, create in Deno", `${ROOT}bin/hakoniwa-oci`, bundle, `${bundle}/hk-deno-state`, {
            HAKONIWA_OCI_DECIDER: "0",
          }),
        },
        { name: "runc", run: cycle("runc", "runc", bundle, `${bundle}/runc-state`) },
      ],
      runs,
      warmup,
    );
    // interleave keeps every run's steps; the warm-up rounds' are dropped here as they are there.
    for (const s of Object.values(stepSamples)) {
      for (const k of ["create", "start", "delete"] as const) s[k].splice(0, warmup);
    }
    return samples;
  } finally {
    Deno.removeSync(bundle, { recursive: true });
  }
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--runs");
  const runs = at >= 0 ? Number(Deno.args[at + 1]) : 30;
  const samples = await ociCycles(runs, 3);
  for (const [name, s] of Object.entries(stepSamples)) {
    console.log(
      `${name.padEnd(28)} cycle ${median(samples[name]).toFixed(1)} ms = create ${median(s.create).toFixed(1)} + ` +
        `start ${median(s.start).toFixed(1)} + delete ${median(s.delete).toFixed(1)} (medians of ${runs})`,
    );
  }
  for (const name of ["hakoniwa-oci", "hakoniwa-oci, create in Deno"]) {
    const ratios = samples[name].map((x, i) => x / samples.runc[i]);
    console.log(`${name} / runc, median of the paired ratios: ${median(ratios).toFixed(2)}x`);
  }
}
