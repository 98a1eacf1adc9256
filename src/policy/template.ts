/**
 * Policy templates, through handlebars (HTML escaping off): the one module
 * that imports it. Helpers only read; none writes anywhere.
 *
 * A template made only of plain helper calls (the default policies are)
 * renders here without handlebars. handlebars is CommonJS, and loading it
 * boots Deno's Node compatibility layer (tens of milliseconds), so it is
 * imported only when a template needs more (blocks, comments,
 * subexpressions, whitespace control...): {@link renderTemplateAsync}
 * loads it; {@link renderTemplate} uses it once loaded and otherwise
 * throws {@link TemplateEngineNotLoaded}.
 *
 * - `{{ os_env "NAME" }}`: the variable as a quoted TOML string ("" when unset)
 * - `{{ os_homedir }}`: the caller's home directory, quoted
 * - `{{ fs_read_to_string "PATH" }}`: a file's contents, quoted
 * - `{{ path_exists "PATH" }}`: `true` or `false`
 *
 * @module
 */
import { readHostTextSync } from "../native/safe_open.ts";

type Handlebars = typeof import("npm:handlebars@4.7.8");
let engine: Handlebars | undefined;

/**
 * Quotes a string as a TOML basic string (JSON escapes are valid TOML).
 *
 * @example
 * ```ts
 * import { tomlString } from "./template.ts";
 * console.log(tomlString('a"b')); // "a\"b" with the quotes
 * ```
 */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, "\\u007f");
}

/**
 * Why a template failed, with the 1-based line when handlebars knows it.
 *
 * @example
 * ```ts
 * import { TemplateError } from "./template.ts";
 * console.log(new TemplateError("bad", 2).line); // 2
 * ```
 */
export class TemplateError extends Error {
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /** Creates a template error. */
  constructor(message: string, line?: number, options?: ErrorOptions, column?: number) {
    super(message, options);
    this.name = "TemplateError";
    this.line = line;
    this.column = column;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Thrown by {@link renderTemplate} for a template that needs handlebars
 * before {@link loadTemplateEngine} (or {@link renderTemplateAsync}) has
 * loaded it.
 *
 * @example
 * ```ts
 * import { renderTemplate, TemplateEngineNotLoaded } from "./template.ts";
 * try {
 *   renderTemplate('{{#if (path_exists "/")}}x{{/if}}');
 * } catch (e) {
 *   console.log(e instanceof TemplateEngineNotLoaded); // true unless loaded earlier
 * }
 * ```
 */
export class TemplateEngineNotLoaded extends Error {
  /** Creates the error. */
  constructor() {
    super(
      "this template uses more than plain helper calls; the template engine loads asynchronously " +
        "(use the async API: renderTemplateAsync, parsePolicyAsync, loadPolicyFile)",
    );
    this.name = "TemplateEngineNotLoaded";
  }
}

/**
 * Whether `text` needs handlebars: it has `{{` beyond plain helper calls.
 *
 * @example
 * ```ts
 * import { needsTemplateEngine } from "./template.ts";
 * console.log(needsTemplateEngine('A = {{ os_env "HOME" }}')); // false
 * console.log(needsTemplateEngine("{{#if x}}y{{/if}}")); // true
 * ```
 */
export function needsTemplateEngine(text: string): boolean {
  return text.includes("{{") && simpleCalls(text) === undefined;
}

/**
 * Loads handlebars (once); afterwards {@link renderTemplate} renders any
 * template synchronously.
 *
 * @example
 * ```ts
 * import { loadTemplateEngine, renderTemplate } from "./template.ts";
 * await loadTemplateEngine();
 * console.log(renderTemplate("{{#if true}}y{{/if}}")); // "y"
 * ```
 */
export async function loadTemplateEngine(): Promise<void> {
  // Named at run time (src/policy/handlebars.ts): a literal import() would have Deno resolve the package with every
  // start-up graph that holds this module, although the policies shipped here never need it.
  engine ??= ((await import(new URL("./handlebars.ts", import.meta.url).href)) as { default: Handlebars }).default;
}

/**
 * Renders a policy template, loading handlebars first when the template
 * needs it.
 *
 * @example
 * ```ts
 * import { renderTemplateAsync } from "./template.ts";
 * console.log(await renderTemplateAsync('{{#if (path_exists "/")}}root{{/if}}')); // "root"
 * ```
 */
export async function renderTemplateAsync(text: string): Promise<string> {
  if (needsTemplateEngine(text)) await loadTemplateEngine();
  return renderTemplate(text);
}

/**
 * Renders a policy template. Text without `{{` is returned as is; plain
 * helper calls render without handlebars; anything else needs handlebars
 * loaded ({@link loadTemplateEngine}) or throws
 * {@link TemplateEngineNotLoaded}.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "./template.ts";
 * console.log(renderTemplate('TERM = {{ os_env "NO_SUCH_VAR_X" }}')); // TERM = ""
 * ```
 */
export function renderTemplate(text: string): string {
  if (!text.includes("{{")) return text;
  const calls = simpleCalls(text);
  if (calls !== undefined) return calls.map((c) => typeof c === "string" ? c : helperValue(c.helper, c.arg)).join("");
  if (!engine) throw new TemplateEngineNotLoaded();
  const hb = engine.create();
  hb.registerHelper("os_env", (name: unknown) => tomlString(Deno.env.get(String(name)) ?? ""));
  hb.registerHelper("os_homedir", () => tomlString(Deno.env.get("HOME") ?? ""));
  hb.registerHelper("fs_read_to_string", (path: unknown) => tomlString(readHostTextSync(String(path))));
  hb.registerHelper("path_exists", (path: unknown) => String(exists(String(path))));
  try {
    return hb.compile(text, { noEscape: true, strict: true, knownHelpersOnly: true, knownHelpers: KNOWN })({});
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // handlebars says "Parse error on line N:" or "... - LINE:COLUMN" (column 0-based).
    const at = / - (\d+):(\d+)$/.exec(msg.split("\n")[0]);
    const line = at?.[1] ?? /line (\d+)/.exec(msg)?.[1];
    const text = msg.split("\n")[0].replace(/ - \d+:\d+$/, "").replace(/:$/, "");
    throw new TemplateError(text, line ? Number(line) : undefined, { cause: e }, at ? Number(at[2]) + 1 : undefined);
  }
}

/**
 * A helper call with a plain string literal (or none, for os_homedir), not
 * escaped (`\{{`) nor inside a triple-stash.
 */
const SIMPLE = /(?<![\\{])\{\{\s*(os_env|fs_read_to_string|path_exists|os_homedir)(?:\s+"([^"\\{}]*)")?\s*\}\}(?!\})/g;

/**
 * Splits a template made only of plain helper calls into text and calls,
 * which render the way handlebars would render them without compiling:
 * the default policies are such templates. Undefined for anything else
 * (blocks, comments, subexpressions, whitespace control...), which
 * handlebars renders.
 */
function simpleCalls(text: string): (string | { helper: string; arg: string })[] | undefined {
  const out: (string | { helper: string; arg: string })[] = [];
  let at = 0;
  for (const m of text.matchAll(SIMPLE)) {
    const [call, helper, arg] = m;
    if ((helper === "os_homedir") !== (arg === undefined)) return undefined;
    const gap = text.slice(at, m.index);
    if (gap.includes("{{")) return undefined;
    out.push(gap, { helper, arg: arg ?? "" });
    at = m.index + call.length;
  }
  const rest = text.slice(at);
  if (rest.includes("{{")) return undefined;
  out.push(rest);
  return out;
}

function helperValue(helper: string, arg: string): string {
  try {
    if (helper === "os_env") return tomlString(Deno.env.get(arg) ?? "");
    if (helper === "os_homedir") return tomlString(Deno.env.get("HOME") ?? "");
    if (helper === "fs_read_to_string") return tomlString(readHostTextSync(arg));
    return String(exists(arg));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new TemplateError(msg.split("\n")[0], undefined, { cause: e });
  }
}

const KNOWN = { os_env: true, os_homedir: true, fs_read_to_string: true, path_exists: true };
