/**
 * "Did you mean ...?": the nearest of a list of names to a misspelt word.
 *
 * @module
 */

/**
 * The edit distance of `a` and `b`: insertions, deletions, substitutions
 * and swaps of neighbours, each 1.
 *
 * @example
 * ```ts
 * import { editDistance } from "./suggest.ts";
 * console.log(editDistance("share_netz", "share_net")); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The name of `names` nearest to `word`, when one is near enough to be a
 * likely misspelling (at most a third of the word's letters differ), else
 * `undefined`.
 *
 * @example
 * ```ts
 * import { didYouMean } from "./suggest.ts";
 * console.log(didYouMean("hostnme", ["hostname", "uid"])); // "hostname"
 * console.log(didYouMean("zzz", ["hostname", "uid"])); // undefined
 * ```
 */
export function didYouMean(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const n of names) {
    const d = editDistance(word.toLowerCase(), n.toLowerCase());
    if (d < bestD) [best, bestD] = [n, d];
  }
  return bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
