// The house by stages: no import cycle between files or between the folders of src/, counting type-only imports
// (Deno's own module graph, `deno info --json`, of mod.ts, cli.ts and every module of src/, the lazily loaded ones
// included), and only the public facades directly in src/.
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

/** Every module of src/ but tests, as paths relative to the checkout. */
function sourceModules(dir = "src"): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...sourceModules(rel));
    else if (/\.(ts|js)$/.test(e.name) && !/_test\.ts$|\.d\.ts$/.test(e.name)) out.push(rel);
  }
  return out;
}

/** The import graph (runtime and type-only edges) of mod.ts, cli.ts and src/, between files of the checkout. */
async function importGraph(): Promise<Map<string, Set<string>>> {
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-graph-" });
  try {
    const entry = `${dir}/all.ts`;
    const files = ["mod.ts", "cli.ts", ...sourceModules()];
    await Deno.writeTextFile(entry, files.map((f) => `import "file://${ROOT}/${f}";\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    const local = (url?: string) =>
      url?.startsWith(`file://${ROOT}/`) ? url.slice(`file://${ROOT}/`.length) : undefined;
    const graph = new Map<string, Set<string>>();
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (!from) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const t = local(s);
          if (t && t !== from) to.add(t);
        }
      }
      graph.set(from, to);
    }
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The strongly connected components of more than one node (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** The room of a file: its folder directly under src/, or the file itself when it lies directly in src/ or above. */
function room(file: string): string {
  const parts = file.split("/");
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}/` : file;
}

/** The edges of `graph` between rooms, with one file edge behind each as the example. */
function roomGraph(graph: Map<string, Set<string>>): { graph: Map<string, Set<string>>; why: Map<string, string> } {
  const rooms = new Map<string, Set<string>>(), why = new Map<string, string>();
  for (const [from, tos] of graph) {
    for (const to of tos) {
      const a = room(from), b = room(to);
      if (a === b) continue;
      if (!rooms.has(a)) rooms.set(a, new Set());
      rooms.get(a)!.add(b);
      why.set(`${a} -> ${b}`, `${from} -> ${to}`);
    }
  }
  return { graph: rooms, why };
}

const graph = await importGraph();

Deno.test("no import cycle between files, type-only imports included", () => {
  const found = cycles(graph);
  const explain = found.map((scc) =>
    scc.map((f) => `${f} -> ${[...graph.get(f)!].filter((t) => scc.includes(t)).join(", ")}`).join("\n")
  );
  assert.deepEqual(explain, []);
});

Deno.test("no import cycle between the folders of src/ (each file directly in src/ is a room of its own)", () => {
  const { graph: rooms, why } = roomGraph(graph);
  const found = cycles(rooms).map((scc) =>
    scc.flatMap((a) => [...rooms.get(a)!].filter((b) => scc.includes(b)).map((b) => why.get(`${a} -> ${b}`)!))
  );
  assert.deepEqual(found, []);
});

Deno.test("at most 6 files directly in src/: the public facades", () => {
  const top = [...Deno.readDirSync(`${ROOT}/src`)].filter((e) => e.isFile && !e.name.endsWith("_test.ts"));
  assert.ok(top.length <= 6, top.map((e) => e.name).join(", "));
});

Deno.test("the cycle finder finds a cycle, also across folders", () => {
  const g = new Map([["src/a/x.ts", new Set(["src/b/y.ts"])], ["src/b/y.ts", new Set(["src/a/z.ts"])], [
    "src/a/z.ts",
    new Set<string>(),
  ]]);
  assert.deepEqual(cycles(g), []);
  assert.deepEqual(cycles(roomGraph(g).graph), [["src/a/", "src/b/"]]);
  g.get("src/a/z.ts")!.add("src/a/x.ts");
  assert.deepEqual(cycles(g), [["src/a/x.ts", "src/a/z.ts", "src/b/y.ts"]]);
});
