/**
 * Writes the native core embedded in the module graph to a cache file
 * named by its hash, so it can be dlopened. The bytes are checked against
 * the hash compiled into the module, both when decoded and when an
 * existing cache file is reused. Directories are tried in order; one on a
 * `noexec` mount is skipped by the loader's fallback.
 *
 * @module
 */
import { HakoniwaError } from "./errors.ts";
import { NATIVE_BASE64, NATIVE_SHA256 } from "./generated/native.ts";

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Cache directories in order of preference. */
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

async function verifiedExisting(path: string): Promise<boolean> {
  try {
    return (await sha256(await Deno.readFile(path))) === NATIVE_SHA256;
  } catch {
    return false;
  }
}

/**
 * Returns paths of verified copies of the embedded library, writing each
 * lazily: the loader dlopens them in order until one loads.
 */
export async function* materialize(): AsyncGenerator<string> {
  let bytes: Uint8Array | undefined;
  for (const dir of cacheDirs()) {
    const path = `${dir}/libhakoniwa-${NATIVE_SHA256.slice(0, 16)}.so`;
    if (await verifiedExisting(path)) {
      yield path;
      continue;
    }
    if (!bytes) {
      bytes = Uint8Array.from(atob(NATIVE_BASE64), (c) => c.charCodeAt(0));
      if ((await sha256(bytes)) !== NATIVE_SHA256) {
        throw new HakoniwaError("the embedded native core does not match its hash");
      }
    }
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      // Write under a unique name and rename: readers never see a partial file.
      const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}`;
      await Deno.writeFile(tmp, bytes, { mode: 0o500 });
      await Deno.rename(tmp, path);
    } catch {
      continue; // read-only or foreign directory: try the next
    }
    yield path;
  }
}
