/**
 * The static module graph of an entry, as Deno would load it at start-up:
 * static `import`/`export ... from` edges only (type-only imports are
 * erased; dynamic `import()` is lazy and listed apart), npm packages
 * resolved through `node_modules` and their `exports` (`deno`, `import`,
 * `default` conditions). It names every `node:` built-in and every
 * CommonJS file on the start-up path: each of those boots Deno's Node
 * compatibility layer, tens of milliseconds. `deno info` cannot show this
 * with `"nodeModulesDir": "manual"`: it stops at the first file of each
 * package.
 *
 * ```sh
 * deno run -A bench/graph.ts cli.ts                # the CLI
 * deno run -A bench/graph.ts npm:@optique/core     # a package, from this directory's node_modules
 * ```
 *
 * @module
 */

/** What {@link staticGraph} found. */
export interface Graph {
  /** Files on the start-up path, entry first. */
  files: string[];
  /** `node:` built-ins imported on the start-up path (and who imports each). */
  builtins: Map<string, string>;
  /** CommonJS files on the start-up path. */
  commonjs: string[];
  /** Targets of dynamic `import()` with a literal specifier (loaded only when reached). */
  lazy: string[];
}

const STATIC = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?(?:[\w*\s{},$]*?(?:\s|\})from\s*)?["']([^"'\n]+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"'\n]+)["']\s*\)/g;
const REQUIRE = /\brequire\(\s*["']([^"'\n]+)["']\s*\)/g;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function join(dir: string, rel: string): string {
  const out: string[] = [];
  for (const p of `${dir}/${rel}`.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return "/" + out.join("/");
}

function packageJson(dir: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(`${dir}/package.json`));
}

/** The nearest package.json's `type` of a file in node_modules. */
function isCommonJs(file: string): boolean {
  if (file.endsWith(".cjs")) return true;
  if (file.endsWith(".mjs") || !file.includes("/node_modules/") || !file.endsWith(".js")) return false;
  for (let d = dirOf(file); d.includes("/node_modules/"); d = dirOf(d)) {
    if (exists(`${d}/package.json`)) return packageJson(d).type !== "module";
  }
  return true;
}

/** The conditions Deno resolves npm packages' `exports` and `imports` with. */
const CONDITIONS = ["deno", "node", "import", "module-sync", "default"];

function pickCondition(target: unknown): string | undefined {
  if (typeof target === "string") return target;
  if (Array.isArray(target)) return target.map(pickCondition).find((t) => t);
  if (target && typeof target === "object") {
    // The first key (in the object's order) that is one of Deno's conditions, as Node and Deno match them.
    for (const [k, v] of Object.entries(target as Record<string, unknown>)) {
      if (CONDITIONS.includes(k)) {
        const got = pickCondition(v);
        if (got) return got;
      }
    }
  }
  return undefined;
}

function resolvePackage(from: string, name: string, sub: string): string | undefined {
  for (let d = dirOf(from);; d = dirOf(d)) {
    const pkg = `${d}/node_modules/${name}`;
    if (exists(`${pkg}/package.json`)) {
      const json = packageJson(pkg);
      const exportsField = json.exports as Record<string, unknown> | string | undefined;
      let target: string | undefined;
      if (exportsField !== undefined) {
        const map = typeof exportsField === "string" || Object.keys(exportsField).every((k) => !k.startsWith("."))
          ? { ".": exportsField }
          : exportsField as Record<string, unknown>;
        target = pickCondition(map[sub === "" ? "." : `./${sub}`]);
      }
      target ??= sub || (json.module as string | undefined) || (json.main as string | undefined) || "index.js";
      return resolveFile(join(pkg, target));
    }
    if (d === "/") return undefined;
  }
}

function resolveFile(path: string): string | undefined {
  for (const p of [path, `${path}.js`, `${path}.ts`, `${path}/index.js`, `${path}/index.ts`]) if (exists(p)) return p;
  return undefined;
}

/** A `#name` import through the nearest package.json's `imports` field. */
function resolveHash(from: string, spec: string): string | undefined {
  for (let d = dirOf(from); d !== "/"; d = dirOf(d)) {
    if (!exists(`${d}/package.json`)) continue;
    const target = pickCondition((packageJson(d).imports as Record<string, unknown> | undefined)?.[spec]);
    if (!target) return undefined;
    return target.startsWith("node:") ? target : resolveFile(join(d, target));
  }
  return undefined;
}

function resolve(from: string, spec: string): string | undefined {
  if (spec.startsWith("node:")) return spec;
  if (spec.startsWith("#")) return resolveHash(from, spec);
  if (spec.startsWith("file://")) return resolveFile(new URL(spec).pathname);
  if (spec.startsWith(".") || spec.startsWith("/")) return resolveFile(join(dirOf(from), spec));
  const bare = spec.replace(/^npm:\/?/, "");
  const scoped = bare.startsWith("@");
  const parts = bare.split("/");
  const nameWithVersion = scoped ? `${parts[0]}/${parts[1]}` : parts[0];
  const sub = parts.slice(scoped ? 2 : 1).join("/");
  const name = nameWithVersion.replace(/(.)@[^/]*$/, "$1");
  return resolvePackage(from, name, sub);
}

/**
 * Walks the static graph of `entry` (a file path or an `npm:` specifier
 * resolved from the current directory).
 *
 * @example
 * ```ts ignore
 * import { staticGraph } from "./graph.ts";
 * const g = staticGraph("cli.ts");
 * console.log([...g.builtins.keys()], g.commonjs);
 * ```
 */
export function staticGraph(entry: string): Graph {
  const start = entry.startsWith("npm:")
    ? resolve(`${Deno.cwd()}/x`, entry)
    : resolveFile(entry.startsWith("/") ? entry : `${Deno.cwd()}/${entry}`);
  if (!start) throw new Error(`bench: cannot resolve ${entry}`);
  const graph: Graph = { files: [], builtins: new Map(), commonjs: [], lazy: [] };
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    graph.files.push(file);
    const cjs = isCommonJs(file);
    if (cjs) graph.commonjs.push(file);
    const text = Deno.readTextFileSync(file);
    const specs = [...text.matchAll(STATIC)].filter((m) => !m[2]).map((m) => m[3]);
    if (cjs) specs.push(...[...text.matchAll(REQUIRE)].map((m) => m[1]));
    for (const spec of specs) {
      const to = resolve(file, spec);
      if (to?.startsWith("node:") || (!to && !spec.includes("/") && cjs)) {
        const name = to ?? `node:${spec}`;
        if (!graph.builtins.has(name)) graph.builtins.set(name, file);
      } else if (to) queue.push(to);
    }
    for (const m of text.matchAll(DYNAMIC)) graph.lazy.push(`${m[1]} (from ${file})`);
  }
  return graph;
}

if (import.meta.main) {
  let bad = false;
  for (const entry of Deno.args) {
    const g = staticGraph(entry);
    console.log(`${entry}: ${g.files.length} files on the start-up path`);
    for (const [b, by] of g.builtins) console.log(`  node built-in ${b} (imported by ${by})`);
    for (const f of g.commonjs) console.log(`  CommonJS ${f}`);
    for (const l of g.lazy) console.log(`  lazy import ${l}`);
    if (g.builtins.size || g.commonjs.length) bad = true;
    else console.log("  no node: built-in, no CommonJS");
  }
  Deno.exit(bad ? 1 : 0);
}
