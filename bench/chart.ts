/**
 * Draws the ratios of a benchmark result (bench/results/latest.json) as a
 * self-contained SVG: one bar per contender, on a log scale centred on 1
 * (the case's baseline). Needs no network and no library.
 *
 * ```sh
 * deno run -A bench/chart.ts bench/results/latest.json bench/results/ratios.svg
 * ```
 *
 * @module
 */

interface ChartRow {
  name: string;
  ratio: number;
}
interface ChartCase {
  id: string;
  title: string;
  baseline: string;
  better: "lower" | "higher";
  /** "neutral" when the ratios compare settings rather than hakoniwa with another tool. */
  chart?: "neutral";
  /** Rows that are floors (no sandbox, an empty Deno program), not other tools: drawn grey. */
  floors?: string[];
  rows: ChartRow[];
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Renders the SVG text for the cases of a result.
 *
 * @example
 * ```ts ignore
 * const svg = renderChart(JSON.parse(await Deno.readTextFile("bench/results/latest.json")).cases);
 * ```
 */
export function renderChart(cases: ChartCase[], subtitle = ""): string {
  const bars = cases.flatMap((c) =>
    c.rows.filter((r) => r.name !== c.baseline && Number.isFinite(r.ratio) && r.ratio > 0).map((r) => ({
      label: `${c.id}. ${r.name} / ${c.baseline}`,
      ratio: r.ratio,
      // Green when the contender does worse than hakoniwa's row (hakoniwa wins), red otherwise; grey when neutral.
      color: c.chart === "neutral" || c.floors?.includes(r.name)
        ? "#789"
        : (c.better === "lower" ? r.ratio >= 1 : r.ratio <= 1)
        ? "#3a7"
        : "#c44",
    }))
  );
  const labelW = 400, plotW = 520, rowH = 20, top = 56, pad = 10;
  const height = top + bars.length * rowH + 40;
  const maxExp = Math.max(1, ...bars.map((b) => Math.ceil(Math.abs(Math.log10(b.ratio)))));
  const x = (ratio: number) => labelW + plotW / 2 + (Math.log10(ratio) / maxExp) * (plotW / 2);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + pad * 2 + 60}" height="${height}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad}" y="20" font-size="15" font-weight="bold">hakoniwa bench: ratio of each contender to the case's baseline (log scale)</text>`,
    `<text x="${pad}" y="38" fill="#555">${
      esc(subtitle)
    } green: hakoniwa does better; red: the other tool does; grey: floors and settings compared</text>`,
  );
  for (let e = -maxExp; e <= maxExp; e++) {
    const gx = x(10 ** e);
    parts.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + bars.length * rowH}" stroke="${
        e === 0 ? "#000" : "#ddd"
      }"/>`,
      `<text x="${gx}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${
        e >= 0 ? 10 ** e : `1/${10 ** -e}`
      }×</text>`,
    );
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(1), x1 = x(b.ratio);
    parts.push(
      `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${Math.min(x0, x1)}" y="${y + 3}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${
        rowH - 6
      }" fill="${b.color}"/>`,
      `<text x="${Math.max(x0, x1) + 4}" y="${y + 14}" fill="#333">${
        b.ratio >= 10 ? b.ratio.toFixed(0) : b.ratio.toFixed(2)
      }</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}

/**
 * Reads a result JSON file and writes its chart.
 *
 * @example
 * ```ts ignore
 * await writeChart("bench/results/latest.json", "bench/results/ratios.svg");
 * ```
 */
export async function writeChart(jsonPath: string, svgPath: string): Promise<void> {
  const result = JSON.parse(await Deno.readTextFile(jsonPath));
  const sub = `${result.date?.slice(0, 16) ?? ""} ${result.machine?.kernel ?? ""} ${result.machine?.cpus ?? "?"} cpus` +
    `${result.quick ? " (quick)" : ""}.`;
  await Deno.writeTextFile(svgPath, renderChart(result.cases, sub));
}

if (import.meta.main) {
  const [json = "bench/results/latest.json", svg = "bench/results/ratios.svg"] = Deno.args;
  await writeChart(json, svg);
}
