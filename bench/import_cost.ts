/**
 * What importing a module costs a cold `deno run`: for each specifier, a
 * probe file that only imports it runs as a new process, interleaved round
 * by round with an empty file; the table shows the median wall time and the
 * median of the paired differences to the empty file. Probes are written
 * into the current directory (so `npm:` specifiers resolve through its
 * `node_modules`) and removed afterwards.
 *
 * ```sh
 * deno run -A bench/import_cost.ts npm:smol-toml ./mod.ts          # 21 rounds
 * deno run -A bench/import_cost.ts --runs 41 npm:@optique/core/parser
 * ```
 *
 * @module
 */
import { interleave, median } from "./lib.ts";

/** One row of {@link importCost}'s answer. */
export interface ImportCost {
  /** The specifier imported. */
  specifier: string;
  /** Median wall time of the probe, ms. */
  median: number;
  /** Median of the per-round differences to the empty file, ms. */
  overEmpty: number;
}

/**
 * Times probes importing each of `specifiers` against an empty file.
 *
 * @example
 * ```ts ignore
 * import { importCost } from "./import_cost.ts";
 * for (const r of await importCost(["npm:smol-toml"], 21)) console.log(r.specifier, r.overEmpty);
 * ```
 */
export async function importCost(specifiers: string[], runs: number, warmup = 3): Promise<ImportCost[]> {
  const dir = Deno.makeTempDirSync({ dir: Deno.cwd(), prefix: ".import-cost-" });
  try {
    const probes = specifiers.map((spec, i) => {
      const file = `${dir}/probe${i}.ts`;
      const target = spec.startsWith("./") || spec.startsWith("../")
        ? new URL(spec, `file://${Deno.cwd()}/`).href
        : spec;
      Deno.writeTextFileSync(file, `import ${JSON.stringify(target)};\n`);
      return { spec, file };
    });
    const empty = `${dir}/empty.ts`;
    Deno.writeTextFileSync(empty, "");
    const spawn = (file: string) => async () => {
      const { code } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", file],
        stdout: "null",
        stderr: "null",
      }).output();
      if (code !== 0) throw new Error(`bench: ${file} exited with ${code}`);
    };
    const samples = await interleave(
      [{ name: "(empty)", run: spawn(empty) }, ...probes.map((p) => ({ name: p.spec, run: spawn(p.file) }))],
      runs,
      warmup,
    );
    const base = samples["(empty)"];
    return [
      { specifier: "(empty)", median: median(base), overEmpty: 0 },
      ...probes.map((p) => ({
        specifier: p.spec,
        median: median(samples[p.spec]),
        overEmpty: median(samples[p.spec].map((x, i) => x - base[i])),
      })),
    ];
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--runs");
  const runs = at >= 0 ? Number(args.splice(at, 2)[1]) : 21;
  const rows = await importCost(args, runs);
  console.log(`import cost over an empty file: ${runs} interleaved rounds, medians, ms`);
  for (const r of rows) {
    console.log(`  ${r.specifier.padEnd(44)} ${r.median.toFixed(1).padStart(7)}  +${r.overEmpty.toFixed(1)}`);
  }
}
