/**
 * Expected-output matching in the style of hakoniwa 1.x's trycmd tests:
 * `[..]` inside a line matches any text on that line, a line that is only
 * `...` matches any number of lines (none included), `[CWD]` is the
 * directory the command ran in. Trailing newlines are not compared.
 *
 * @module
 */

/** Replacements applied to the expected text before matching. */
export interface MatchVars {
  /** Stands for `[CWD]`. */
  cwd: string;
}

function lineMatches(pattern: string, line: string): boolean {
  const parts = pattern.split("[..]").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(line);
}

/**
 * Whether `actual` matches the expected text `expected`.
 *
 * @example
 * ```ts
 * import { outputMatches } from "./match.ts";
 * console.log(outputMatches("a\n...\nz [..]\n", "a\nb\nc\nz 1 2\n", { cwd: "/" })); // true
 * ```
 */
export function outputMatches(expected: string, actual: string, vars: MatchVars): boolean {
  const want = expected.replaceAll("[CWD]", vars.cwd).replace(/\n+$/, "").split("\n");
  const got = actual.replace(/\n+$/, "").split("\n");
  if (want.length === 1 && want[0] === "") return got.length === 1 && got[0] === "";
  const memo = new Map<string, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let ok: boolean;
    if (i === want.length) ok = j === got.length;
    else if (want[i] === "...") ok = at(i + 1, j) || (j < got.length && at(i, j + 1));
    else ok = j < got.length && lineMatches(want[i], got[j]) && at(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return at(0, 0);
}
