/**
 * `exec`: a new process in a running container.
 *
 * @module
 */
import { OciError } from "./state.ts";

/** What `exec` is given. */
export interface ExecOptions {
  process: string | null;
  args: string[];
  detach: boolean;
  pidFile: string | null;
  tty: boolean;
  consoleSocket: string | null;
  cwd: string | null;
  env: string[];
  user: string | null;
  noNewPrivs: boolean;
}

/**
 * Runs a process in the container `id`; returns its exit code (0 at once with `detach`).
 *
 * @example
 * ```ts ignore
 * await execProcess(root, "c1", { process: "/tmp/p.json", args: [], detach: true, ... });
 * ```
 */
export function execProcess(_root: string, _id: string, _o: ExecOptions): Promise<number> {
  return Promise.reject(new OciError("exec: not supported yet"));
}
