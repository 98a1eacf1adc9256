/**
 * Policy templates, through handlebars (HTML escaping off): the one module
 * that imports it. Helpers only read; none writes anywhere.
 *
 * - `{{ os_env "NAME" }}`: the variable as a quoted TOML string ("" when unset)
 * - `{{ os_homedir }}`: the caller's home directory, quoted
 * - `{{ fs_read_to_string "PATH" }}`: a file's contents, quoted
 * - `{{ path_exists "PATH" }}`: `true` or `false`
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import Handlebars from "npm:handlebars@4.7.8";
import { readTextCappedSync } from "./read_capped.ts";

/** Quotes a string as a TOML basic string (JSON escapes are valid TOML). */
export function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, "\\u007f");
}

/** Why a template failed, with the 1-based line when handlebars knows it. */
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
 * Renders a policy template. Text without `{{` is returned as is.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "./template.ts";
 * console.log(renderTemplate('TERM = {{ os_env "NO_SUCH_VAR_X" }}')); // TERM = ""
 * ```
 */
export function renderTemplate(text: string): string {
  if (!text.includes("{{")) return text;
  const simple = renderSimple(text);
  if (simple !== undefined) return simple;
  const hb = Handlebars.create();
  hb.registerHelper("os_env", (name: unknown) => tomlString(Deno.env.get(String(name)) ?? ""));
  hb.registerHelper("os_homedir", () => tomlString(Deno.env.get("HOME") ?? ""));
  hb.registerHelper("fs_read_to_string", (path: unknown) => tomlString(readTextCappedSync(String(path))));
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
 * Renders a template made only of plain helper calls the way handlebars
 * would, without compiling it: the default policies are such templates.
 * Returns undefined for anything else (blocks, comments, subexpressions,
 * whitespace control...), which handlebars then renders.
 */
function renderSimple(text: string): string | undefined {
  let out = "";
  let at = 0;
  for (const m of text.matchAll(SIMPLE)) {
    const [call, helper, arg] = m;
    if ((helper === "os_homedir") !== (arg === undefined)) return undefined;
    const gap = text.slice(at, m.index);
    if (gap.includes("{{")) return undefined;
    out += gap + helperValue(helper, arg ?? "");
    at = m.index + call.length;
  }
  const rest = text.slice(at);
  return rest.includes("{{") ? undefined : out + rest;
}

function helperValue(helper: string, arg: string): string {
  try {
    if (helper === "os_env") return tomlString(Deno.env.get(arg) ?? "");
    if (helper === "os_homedir") return tomlString(Deno.env.get("HOME") ?? "");
    if (helper === "fs_read_to_string") return tomlString(readTextCappedSync(arg));
    return String(exists(arg));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new TemplateError(msg.split("\n")[0], undefined, { cause: e });
  }
}

const KNOWN = { os_env: true, os_homedir: true, fs_read_to_string: true, path_exists: true };
