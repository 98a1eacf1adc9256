/**
 * SHA-256, synchronous: the one import of @noble/hashes (pure ESM, no
 * node: modules), so the loader can check the native core before
 * `Command.spawn()` returns.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import { sha256 as nobleSha256 } from "npm:@noble/hashes@2.4.0/sha2.js";

/**
 * The SHA-256 digest of `bytes`.
 *
 * @example
 * ```ts
 * import { sha256 } from "./sha256.ts";
 * console.log(sha256(new Uint8Array()).length); // 32
 * ```
 */
export function sha256(bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes);
}
