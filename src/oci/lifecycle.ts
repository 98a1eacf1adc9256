/**
 * `start`, `state`, `kill`, `delete` and `ps`: what a caller does with a created container. Each holds the
 * container directory's lock (see state.ts), and signals its init only after checking the pid is still the init's.
 * bin/hakoniwa-oci does the same in C without starting Deno (native/oci_front.c); this is the reference and the path
 * a Deno-only install takes.
 *
 * @module
 */
import { describeErrno, loadNative } from "../native/ffi.ts";
import { SIGNAL_NAMES, SIGNAL_NUMBERS } from "../run/report.ts";
import { alive, ContainerDir, type InitProcess, OciError, type OciState } from "./state.ts";

/**
 * A signal given as a number, `SIGTERM` or `TERM`, as its number.
 *
 * @example
 * ```ts
 * import { parseSignal } from "./lifecycle.ts";
 * console.log(parseSignal("KILL"), parseSignal("15"), parseSignal("SIGHUP")); // 9 15 1
 * ```
 */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
    const n = (SIGNAL_NUMBERS as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new OciError(`invalid signal ${JSON.stringify(text)}`);
}

/**
 * Starts a created container: its command, waiting on the start fifo, goes on to exec.
 *
 * @example
 * ```ts ignore
 * await startContainer("/run/hakoniwa-oci", "c1");
 * ```
 */
export async function startContainer(root: string, id: string): Promise<void> {
  const dir = ContainerDir.open(root, id);
  try {
    const status = dir.state().status;
    if (status !== "created") throw new OciError(`cannot start a container that has ${status}`);
    const native = await loadNative();
    const rc = native.hk_fifo_signal(new TextEncoder().encode(dir.fifo + "\0"));
    if (rc < 0) throw new OciError(`cannot start container ${id}: ${describeErrno(native, -rc).join(": ")}`);
    Deno.removeSync(dir.fifo);
  } finally {
    dir.close();
  }
}

/**
 * The state of a container, as `state` prints it.
 *
 * @example
 * ```ts ignore
 * console.log(containerState("/run/hakoniwa-oci", "c1").status);
 * ```
 */
export function containerState(root: string, id: string): OciState {
  const dir = ContainerDir.open(root, id);
  try {
    return dir.state();
  } finally {
    dir.close();
  }
}

/**
 * The host pids of every process in the init's pid namespace (the init first): its descendants (an orphan of the
 * namespace becomes the init's child), and processes whose pid namespace is the init's (those `exec` put there),
 * where this caller may look (an init that is not dumpable hides its namespace from an unprivileged caller).
 */
export function containerPids(init: InitProcess): number[] {
  if (!alive(init)) return [];
  let ns: string | null = null;
  try {
    ns = Deno.readLinkSync(`/proc/${init.pid}/ns/pid`);
  } catch { /* not ours to see */ }
  const parents = new Map<number, number>();
  const inNs = new Set<number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      if (ns !== null && pid !== init.pid && Deno.readLinkSync(`/proc/${pid}/ns/pid`) === ns) inNs.add(pid);
    } catch { /* gone, or not ours to see */ }
  }
  const pids = [init.pid];
  const ofInit = (pid: number): boolean => {
    for (let p = parents.get(pid), n = 0; p !== undefined && p > 1 && n < 4096; p = parents.get(p), n++) {
      if (p === init.pid) return true;
    }
    return false;
  };
  for (const pid of [...parents.keys()].sort((a, b) => a - b)) {
    if (pid !== init.pid && (inNs.has(pid) || ofInit(pid))) pids.push(pid);
  }
  return pids;
}

function send(pid: number, sig: number) {
  const name = SIGNAL_NAMES[sig];
  if (!name) throw new OciError(`signal ${sig}: not one this runtime can send from Deno`);
  Deno.kill(pid, name as Deno.Signal);
}

/**
 * Sends a signal to the container's init (which forwards it to the command), or with `all` to every process of it.
 *
 * @example
 * ```ts ignore
 * killContainer("/run/hakoniwa-oci", "c1", 15, false);
 * ```
 */
export function killContainer(root: string, id: string, sig: number, all: boolean): void {
  const dir = ContainerDir.open(root, id);
  try {
    const init = dir.init();
    if (!alive(init)) throw new OciError("container not running");
    for (const pid of all ? containerPids(init) : [init.pid]) {
      try {
        send(pid, sig);
      } catch (e) {
        if (pid === init.pid) throw e;
      }
    }
  } finally {
    dir.close();
  }
}

/**
 * Deletes a container: a stopped or created one, or with `force` a running one (killed first, and waited for).
 *
 * @example
 * ```ts ignore
 * await deleteContainer("/run/hakoniwa-oci", "c1", false);
 * ```
 */
export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  const dir = ContainerDir.open(root, id);
  try {
    const status = dir.state().status;
    if (status === "running" && !force) {
      throw new OciError(`cannot delete container ${id} that is not stopped: running`);
    }
    const init = dir.init();
    if (status !== "stopped") {
      send(init.pid, 9); // the init's end takes every process of its pid namespace with it
      for (let i = 0; alive(init); i++) {
        if (i > 1000) throw new OciError(`container ${id}: its init does not end`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    dir.remove();
  } finally {
    dir.close();
  }
}
