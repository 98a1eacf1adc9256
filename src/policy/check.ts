/**
 * The building blocks of policy validation: a cursor over one policy file
 * that reads values of the expected type or fails with a
 * {@link PolicyError} naming the file, line, column and key path. Sections
 * of other modules (seccomp, landlock, network) validate with these.
 *
 * @module
 */
import { PolicyError, type PolicyLocation } from "../common/errors.ts";
import { didYouMean } from "../common/suggest.ts";
import { parseToml, TomlSyntaxError } from "./toml.ts";

/**
 * Parses a policy file's TOML; a syntax error becomes a {@link PolicyError}
 * at its line and column.
 *
 * @example
 * ```ts
 * import { parsePolicyToml } from "./check.ts";
 * console.log(parsePolicyToml("hostname = \"box\"\n", "p.toml").hostname); // "box"
 * ```
 */
export function parsePolicyToml(text: string, file: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch (e) {
    if (e instanceof TomlSyntaxError) {
      throw new PolicyError(e.message, { file, line: e.line, column: e.column }, { cause: e });
    }
    throw e;
  }
}

/** A key path inside a policy, e.g. `["mounts", 2, "target"]`. */
export type KeyPath = (string | number)[];

/**
 * Finds the 1-based line and column of a key path in the source text, best effort.
 *
 * @example
 * ```ts
 * import { locate } from "./check.ts";
 * console.log(locate("a = 1\n[limits]\ncpu = 2\n", ["limits", "cpu"])); // { line: 3, column: 1 }
 * ```
 */
export function locate(text: string, path: KeyPath): { line?: number; column?: number } {
  const lines = text.split("\n");
  let from = 0;
  let found: { line: number; column: number } | undefined;
  const find = (re: RegExp, start: number) => {
    for (let i = start; i < lines.length; i++) {
      const m = re.exec(lines[i]);
      if (m) return { line: i + 1, column: m.index + (m[0].length - m[0].trimStart().length) + 1 };
    }
    return undefined;
  };
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (typeof seg === "number") {
      // Element `seg` of the array named by the previous segment: count [[name]] headers or `{`.
      const name = String(path[i - 1]);
      const count = (marks: RegExp) => {
        let n = -1;
        for (let l = from; l < lines.length; l++) {
          const header = new RegExp(`^\\s*\\[\\[\\s*${escape(name)}\\s*\\]\\]`).exec(lines[l]);
          const cols = header ? [header.index] : [...lines[l].matchAll(marks)].map((m) => m.index!);
          for (const col of cols) {
            // a quote counts only when it opens a string
            if (lines[l][col] === '"' && lines[l].slice(0, col).split('"').length % 2 === 0) continue;
            if (++n === seg) return { line: l + 1, column: col + 1 };
          }
        }
        return undefined;
      };
      // Tables of an array are counted by `{` or [[name]]; strings of an array by their opening quote.
      const hit = count(/\{/g) ?? (i === path.length - 1 ? count(/"/g) : undefined);
      if (!hit) break;
      found = hit;
      from = hit.line - 1;
      continue;
    }
    const key = new RegExp(`(^|[{,\\s])${escape(seg)}\\s*=|^\\s*\\[\\s*${escape(seg)}\\s*\\]`);
    const hit = find(key, from);
    if (!hit) break;
    found = hit;
    from = hit.line - 1;
  }
  return found ?? {};
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Formats a key path.
 *
 * @example
 * ```ts
 * import { keyName } from "./check.ts";
 * console.log(keyName(["mounts", 2, "target"])); // "mounts[2].target"
 * ```
 */
export function keyName(path: KeyPath): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i ? `.${p}` : p)).join("");
}

/**
 * How a TOML value is named in errors ("a string", "an array"...).
 *
 * @example
 * ```ts
 * import { typeName } from "./check.ts";
 * console.log(typeName([1])); // "an array"
 * ```
 */
export function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "bigint") return "an integer out of range";
  if (typeof v === "object") return v instanceof Date || v?.constructor?.name === "TomlDate" ? "a date" : "a table";
  return `a ${typeof v}`;
}

/**
 * Reads values out of one parsed policy file; every failure names the
 * file, line, column and key.
 *
 * @example
 * ```ts
 * import { PolicyCursor } from "./check.ts";
 * const c = new PolicyCursor("p.toml", "share_net = 1\n");
 * try {
 *   c.bool(["share_net"], 1);
 * } catch (e) {
 *   console.log((e as Error).message); // "p.toml:1:1: share_net: expected a boolean, got a number"
 * }
 * ```
 */
export class PolicyCursor {
  /** The file name used in errors. */
  readonly file: string;
  /** The rendered text, to find lines in. */
  readonly text: string;
  /** Creates a cursor over a rendered policy text. */
  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
  }

  /** Where a key path is. */
  where(path: KeyPath): PolicyLocation {
    return { file: this.file, key: keyName(path), ...locate(this.text, path) };
  }

  /** Throws a PolicyError at `path`. */
  fail(path: KeyPath, message: string): never {
    throw new PolicyError(message, this.where(path));
  }

  /** A table with only `keys` (all keys allowed when `keys` is null). */
  table(path: KeyPath, v: unknown, keys: readonly string[] | null): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v) || typeName(v) !== "a table") {
      this.fail(path, `expected a table, got ${typeName(v)}`);
    }
    if (keys) {
      for (const k of Object.keys(v)) {
        if (keys.includes(k)) continue;
        const near = didYouMean(k, keys);
        this.fail(
          [...path, k],
          `unknown key${near ? `; did you mean ${near}?` : ""} (expected one of: ${keys.join(", ")})`,
        );
      }
    }
    return v as Record<string, unknown>;
  }

  /** An array (absent: empty). */
  array(path: KeyPath, v: unknown, what = "an array"): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(path, `expected ${what}, got ${typeName(v)}`);
    return v;
  }

  /** A boolean, or `dflt` when absent. */
  bool<D extends boolean | undefined>(path: KeyPath, v: unknown, dflt?: D): boolean | D {
    if (v === undefined) return dflt as D;
    if (typeof v !== "boolean") this.fail(path, `expected a boolean, got ${typeName(v)}`);
    return v;
  }

  /** A string without NUL bytes. */
  str(path: KeyPath, v: unknown): string {
    if (typeof v !== "string") this.fail(path, `expected a string, got ${typeName(v)}`);
    if (v.includes("\0")) this.fail(path, "contains a NUL byte");
    return v;
  }

  /** An absolute path without `..`. */
  absPath(path: KeyPath, v: unknown): string {
    if (v === undefined) this.fail(path, "missing (expected an absolute path)");
    const s = this.str(path, v);
    if (!s.startsWith("/")) this.fail(path, `expected an absolute path, got ${JSON.stringify(s)}`);
    if (s.split("/").includes("..")) this.fail(path, `'..' is not allowed in ${JSON.stringify(s)}`);
    return s;
  }

  /** An integer from `min` to `max`. */
  int(path: KeyPath, v: unknown, min: number, max: number): number {
    if (typeof v === "bigint") this.fail(path, `expected an integer from ${min} to ${max}, got ${v}`);
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(path, `expected an integer, got ${typeName(v)}`);
    if (v < min || v > max) this.fail(path, `expected an integer from ${min} to ${max}, got ${v}`);
    return v;
  }
}
