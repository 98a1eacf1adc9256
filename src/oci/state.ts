/**
 * The runtime's state directory (`--root`): a directory per container holding `state.json` (the runtime-spec state
 * as `state` prints it, with the status it had when created), `init` (the container's init: pid and start time, so
 * a reused pid is never taken for it), `cgroup` (a cgroup to remove with it) and `exec.fifo` (the start fifo, until
 * the container is started). Every call holds an flock of the container's directory, so calls on one id are
 * serialized; `mkdir` claims an id.
 *
 * @module
 */
import { removeNamedCgroup } from "../cgroup/named.ts";
import { HakoniwaError } from "../common/errors.ts";

/** A runtime error with runc's wording (callers such as containerd match on some of it). */
export class OciError extends HakoniwaError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "OciError";
  }
}

/**
 * The state directory when `--root` is not given: /run/hakoniwa-oci as root (outside any user namespace),
 * `$XDG_RUNTIME_DIR/hakoniwa-oci` otherwise (podman sets it, and passes no --root).
 *
 * @example
 * ```ts
 * import { defaultRoot } from "./state.ts";
 * console.log(defaultRoot().endsWith("hakoniwa-oci")); // true
 * ```
 */
export function defaultRoot(): string {
  if (Deno.uid() === 0 && !inUserNamespace()) return "/run/hakoniwa-oci";
  const xdg = Deno.env.get("XDG_RUNTIME_DIR");
  if (!xdg) throw new OciError("XDG_RUNTIME_DIR is not set: give --root");
  return `${xdg}/hakoniwa-oci`;
}

/** Whether this process runs in a user namespace (rootless podman runs its runtime as root in one): runc's test. */
function inUserNamespace(): boolean {
  try {
    return !/^\s*0\s+0\s+4294967295\s*$/.test(Deno.readTextFileSync("/proc/self/uid_map"));
  } catch {
    return false;
  }
}

/** The runtime-spec state of a container, as `state` prints it. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: "created" | "running" | "stopped";
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
}

/** The container's init: pid and start time (field 22 of /proc/PID/stat). */
export interface InitProcess {
  pid: number;
  startTime: string;
}

/**
 * State (field 3) and start time (field 22) of /proc/PID/stat, or null when there is no such process.
 *
 * @example
 * ```ts
 * import { procStat } from "./state.ts";
 * console.log(typeof procStat(Deno.pid)?.startTime); // "string"
 * ```
 */
export function procStat(pid: number): { state: string; startTime: string } | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0], startTime: fields[19] };
}

/** Whether the init still runs (not a zombie, not a reused pid). */
export function alive(init: InitProcess): boolean {
  const s = procStat(init.pid);
  return s !== null && s.startTime === init.startTime && s.state !== "Z" && s.state !== "X";
}

const ID = /^[\w+.-]+$/;

/** One container's directory, locked while this object is open. */
export class ContainerDir {
  private constructor(readonly path: string, readonly id: string, private lock: Deno.FsFile) {}

  /** The start fifo's path. */
  get fifo(): string {
    return `${this.path}/exec.fifo`;
  }

  /** Claims `id` under `root` (made 0700 when missing) and locks it. */
  static create(root: string, id: string): ContainerDir {
    ContainerDir.#checkId(id);
    Deno.mkdirSync(root, { recursive: true, mode: 0o700 });
    const path = `${root}/${id}`;
    try {
      Deno.mkdirSync(path, { mode: 0o700 });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) throw new OciError(`container with id ${id} already exists`);
      throw e;
    }
    return new ContainerDir(path, id, ContainerDir.#lock(path));
  }

  /** Opens and locks the directory of an existing container. */
  static open(root: string, id: string): ContainerDir {
    ContainerDir.#checkId(id);
    const path = `${root}/${id}`;
    let lock: Deno.FsFile;
    try {
      lock = ContainerDir.#lock(path);
    } catch {
      throw new OciError(`container ${id} does not exist`);
    }
    const dir = new ContainerDir(path, id, lock);
    try {
      Deno.statSync(`${path}/state.json`);
    } catch {
      dir.close();
      throw new OciError(`container ${id} does not exist`); // a create that failed, or one still under way
    }
    return dir;
  }

  static #checkId(id: string) {
    if (!ID.test(id) || id === "." || id === ".." || id.length > 1024) {
      throw new OciError(`invalid container id ${JSON.stringify(id)}`);
    }
  }

  static #lock(path: string): Deno.FsFile {
    const f = Deno.openSync(path, { read: true });
    f.lockSync(true);
    return f;
  }

  /** Writes the state and the init (once the container exists). */
  writeState(state: OciState, init: InitProcess) {
    Deno.writeTextFileSync(`${this.path}/init`, `${init.pid} ${init.startTime}\n`);
    const tmp = `${this.path}/state.json.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(state) + "\n");
    Deno.renameSync(tmp, `${this.path}/state.json`);
  }

  /** Records the container's cgroup (a directory per hierarchy), joined by its execs and removed with it. */
  writeCgroup(dirs: string[]) {
    Deno.writeTextFileSync(`${this.path}/cgroup`, dirs.map((d) => d + "\n").join(""));
  }

  /** The init as recorded. */
  init(): InitProcess {
    const [pid, startTime] = Deno.readTextFileSync(`${this.path}/init`).trim().split(" ");
    return { pid: Number(pid), startTime };
  }

  /** The state with its status now. */
  state(): OciState {
    const state = JSON.parse(Deno.readTextFileSync(`${this.path}/state.json`)) as OciState;
    const init = this.init();
    if (!alive(init)) return { ...state, status: "stopped", pid: 0 };
    let created = true;
    try {
      Deno.lstatSync(this.fifo);
    } catch {
      created = false;
    }
    return { ...state, status: created ? "created" : "running" };
  }

  /** Removes the container's files, its cgroup and its directory; ends the lock. */
  remove() {
    removeNamedCgroup(containerCgroup(this.path));
    Deno.removeSync(this.path, { recursive: true });
    this.close();
  }

  /** Ends the lock. */
  close() {
    try {
      this.lock.close();
    } catch { /* closed */ }
  }
}

/**
 * The cgroup directories recorded for the container whose state directory is `dir` (none: []).
 *
 * @example
 * ```ts ignore
 * import { containerCgroup } from "./state.ts";
 * console.log(containerCgroup("/run/hakoniwa-oci/c1")); // e.g. ["/sys/fs/cgroup/pids/c1", ...]
 * ```
 */
export function containerCgroup(dir: string): string[] {
  try {
    return Deno.readTextFileSync(`${dir}/cgroup`).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Writes a pid file as its reader expects one: whole or not at all (a new file renamed onto the path).
 *
 * @example
 * ```ts ignore
 * import { writePidFile } from "./state.ts";
 * writePidFile("/run/c1.pid", 1234);
 * ```
 */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, String(pid));
  Deno.renameSync(tmp, path);
}
