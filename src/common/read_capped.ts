/**
 * Reading a policy, a profile or a file a template names, with a cap on
 * its size: `/dev/zero` or a huge file is an error, not a read that never
 * ends.
 *
 * @module
 */

/**
 * The most bytes read from one policy, seccomp profile or template file: 4 MiB.
 *
 * @example
 * ```ts
 * import { MAX_CONFIG_BYTES } from "./read_capped.ts";
 * console.log(MAX_CONFIG_BYTES); // 4194304
 * ```
 */
export const MAX_CONFIG_BYTES: number = 4 * 1024 * 1024;

/**
 * Reads a whole text file of at most `max` bytes; throws a RangeError when
 * it holds more (and Deno's errors when it cannot be read).
 *
 * @example
 * ```ts
 * import { readTextCappedSync } from "./read_capped.ts";
 * console.log(readTextCappedSync("/etc/hostname").length > 0); // true
 * ```
 */
export function readTextCappedSync(path: string, max: number = MAX_CONFIG_BYTES): string {
  using file = Deno.openSync(path, { read: true });
  const buf = new Uint8Array(max + 1);
  let n = 0;
  for (;;) {
    const got = file.readSync(buf.subarray(n));
    if (got === null) break;
    n += got;
    if (n > max) throw new RangeError(`${path} is larger than ${max} bytes`);
  }
  return new TextDecoder().decode(buf.subarray(0, n));
}

/**
 * {@link readTextCappedSync}, without blocking the event loop.
 *
 * @example
 * ```ts
 * import { readTextCapped } from "./read_capped.ts";
 * console.log((await readTextCapped("/etc/hostname")).length > 0); // true
 * ```
 */
export async function readTextCapped(path: string, max: number = MAX_CONFIG_BYTES): Promise<string> {
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(max + 1);
  let n = 0;
  for (;;) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
    if (n > max) throw new RangeError(`${path} is larger than ${max} bytes`);
  }
  return new TextDecoder().decode(buf.subarray(0, n));
}
