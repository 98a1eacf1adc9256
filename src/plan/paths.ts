/**
 * Paths inside a sandbox: their normal form, and the search path without PATH. A module of its own, so that what
 * needs only these (the OCI runtime's create) does not load plan building.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";

/** The search path used when the environment has no PATH. */
export const DEFAULT_SEARCH_PATH: string = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/**
 * Normalizes an absolute sandbox path; throws UsageError naming `what` otherwise.
 *
 * @example
 * ```ts
 * import { sandboxPath } from "./paths.ts";
 * console.log(sandboxPath("/a//b/./c", "cwd")); // "/a/b/c"
 * ```
 */
export function sandboxPath(path: string, what: string): string {
  if (!path.startsWith("/")) throw new UsageError(`${what}: expected an absolute path, got ${JSON.stringify(path)}`);
  if (path.includes("\0")) throw new UsageError(`${what}: path contains a NUL byte`);
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new UsageError(`${what}: '..' is not allowed in ${JSON.stringify(path)}`);
  return "/" + parts.join("/");
}
