// The CLI's start-up graph: no npm package, no node: built-in, no CommonJS file on the path of `run` and `explain`
// (each boots a layer of Deno: the npm resolver, the Node compatibility layer), and every module kept off it through a
// specifier made at run time is one `deno compile` is told to include.
import assert from "node:assert/strict";
import { staticGraph } from "../bench/graph.ts";
import { LATER_MODULES } from "../scripts/compile.ts";
import { ROOT } from "./helpers.ts";

Deno.test("cli.ts's start-up graph holds no npm package, no node: built-in and no CommonJS file", async () => {
  const g = await staticGraph(`${ROOT}/cli.ts`);
  assert.deepEqual(g.files.filter((f) => f.includes("/node_modules/")), []);
  assert.deepEqual([...g.builtins.keys()], []);
  assert.deepEqual(g.commonjs, []);
  assert.deepEqual(g.lazy.filter((s) => s.startsWith("npm:")), [], "a literal import() of npm: is resolved at start");
});

Deno.test("every module imported through a specifier made at run time is in scripts/compile.ts's LATER_MODULES", () => {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
      const rel = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory && !["node_modules", ".git", "tests", "bench", "scripts"].includes(e.name)) walk(rel);
      if (!e.isFile || !rel.endsWith(".ts") || rel.endsWith("_test.ts")) continue;
      const text = Deno.readTextFileSync(`${ROOT}/${rel}`);
      const base = rel.slice(0, rel.lastIndexOf("/") + 1);
      for (const m of text.matchAll(/import\(\s*new URL\("([^"]+)", import\.meta\.url\)\.href/g)) {
        found.add(new URL(m[1], `file:///${base}`).pathname.slice(1));
      }
      // loadLater (src/cli/sandbox.ts) resolves against src/cli/, wherever it is called from.
      for (const m of text.matchAll(/loadLater<.*?>\(\s*"([^"]+)"\)/gs)) {
        found.add(new URL(m[1], "file:///src/cli/").pathname.slice(1));
      }
    }
  };
  walk("");
  found.delete("cli.ts"); // mod.ts runs it as the CLI: the program deno compile makes
  assert.deepEqual([...found].sort(), [...LATER_MODULES].sort());
});
