/**
 * Writes the native core embedded in the module graph to a cache file
 * named by its hash, so it can be dlopened. The bytes are checked against
 * the hash compiled into the module, both when decoded and when an
 * existing cache file is reused. Directories are tried in order; one on a
 * `noexec` mount is skipped by the loader's fallback. Synchronous, so that
 * `Command.spawn()` can be too.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { HakoniwaError } from "./errors.ts";
import { NATIVE_BASE64, NATIVE_SHA256 } from "./generated/native.ts";

/**
 * SHA-256 of `bytes`, lowercase hex.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./native_cache.ts";
 * console.log(sha256Hex(new Uint8Array())); // "e3b0c442..."
 * ```
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Cache directories in order of preference.
 *
 * @example
 * ```ts
 * import { cacheDirs } from "./native_cache.ts";
 * console.log(cacheDirs()[0]);
 * ```
 */
export function cacheDirs(): string[] {
  const env = (k: string) => Deno.env.get(k);
  const dirs = [
    env("HAKONIWA_CACHE_DIR"),
    env("XDG_CACHE_HOME") ? `${env("XDG_CACHE_HOME")}/hakoniwa` : undefined,
    env("HOME") ? `${env("HOME")}/.cache/hakoniwa` : undefined,
    env("XDG_RUNTIME_DIR") ? `${env("XDG_RUNTIME_DIR")}/hakoniwa` : undefined,
    `/dev/shm/hakoniwa-${Deno.uid()}`,
    `/tmp/hakoniwa-${Deno.uid()}`,
  ];
  return dirs.filter((d): d is string => !!d);
}

/**
 * The file name of the cached core inside a cache directory.
 *
 * @example
 * ```ts
 * import { cacheFileName } from "./native_cache.ts";
 * console.log(cacheFileName()); // "libhakoniwa-0123456789abcdef.so"
 * ```
 */
export function cacheFileName(): string {
  return `libhakoniwa-${NATIVE_SHA256.slice(0, 16)}.so`;
}

function verifiedExisting(path: string): boolean {
  try {
    return sha256Hex(Deno.readFileSync(path)) === NATIVE_SHA256;
  } catch {
    return false;
  }
}

/**
 * Yields paths of verified copies of the embedded library, writing each
 * lazily: the loader dlopens them in order until one loads. A cached file
 * whose bytes do not match the hash is replaced, never loaded.
 *
 * @example
 * ```ts ignore
 * for (const path of materialize()) console.log(path);
 * ```
 */
export function* materialize(): Generator<string> {
  let bytes: Uint8Array | undefined;
  for (const dir of cacheDirs()) {
    const path = `${dir}/${cacheFileName()}`;
    if (verifiedExisting(path)) {
      yield path;
      continue;
    }
    if (!bytes) {
      bytes = Uint8Array.from(atob(NATIVE_BASE64), (c) => c.charCodeAt(0));
      if (sha256Hex(bytes) !== NATIVE_SHA256) {
        throw new HakoniwaError("the embedded native core does not match its hash");
      }
    }
    // Write under a unique name and rename: readers never see a partial file.
    const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}`;
    try {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      Deno.writeFileSync(tmp, bytes, { mode: 0o500 });
      Deno.renameSync(tmp, path);
    } catch {
      try {
        Deno.removeSync(tmp);
      } catch { /* never written */ }
      continue; // read-only or foreign directory: try the next
    }
    yield path;
  }
}
