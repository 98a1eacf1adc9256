/**
 * `create`: reads the bundle, claims the id, starts the container's init detached (it builds the root, forks the
 * command, which sets itself up and waits on the start fifo) and records the state; the init lives on as the
 * caller's child (a subreaper's, for podman's conmon and containerd's shim) when this process exits.
 *
 * @module
 */
import { describeErrno, loadNative, type Native, prepareInit } from "../native/ffi.ts";
import type { Plan } from "../plan/types.ts";
import { canSetgroups, type SpawnIo } from "../run/spec.ts";
import { compileProfile } from "../seccomp/profile.ts";
import { currentNamedCgroupHost, makeNamedCgroup } from "../cgroup/named.ts";
import { cgroupfsPath, resourceFiles } from "./resources.ts";
import { readConfig } from "./config.ts";
import { ociPlan } from "./plan.ts";
import type { OciHost } from "./mounts.ts";
import { ContainerDir, OciError, procStat, writePidFile } from "./state.ts";
import { cstr, spawnWithConsole } from "./spawn.ts";

/** What `create` is given. */
export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile: string | null;
  consoleSocket: string | null;
  noNewKeyring: boolean;
  warn: (message: string) => void;
  /** Who starts the container's init (default: this process, {@link localSpawner}). */
  spawner?: Spawner;
  /** The caller's /proc/self/cgroup, where it is not this process (the decider's callers, src/oci/decider.ts). */
  callerCgroup?: string;
}

/**
 * Starts a container's init from its plan and gives its pid once the command waits for `start`; with a console
 * socket, the command's stdio is a new terminal whose master goes over that socket.
 *
 * @example
 * ```ts ignore
 * const pid = await localSpawner(native).spawn(plan, io, null);
 * ```
 */
export interface Spawner {
  /** Spawns; throws what the setup reported. */
  spawn(plan: Plan, io: SpawnIo, consoleSocket: string | null): Promise<number>;
}

/**
 * The init started by this process through the native core: it becomes this process's child, and the caller's once
 * this process exits.
 *
 * @example
 * ```ts ignore
 * const pid = await localSpawner(await loadNative()).spawn(plan, io, null);
 * ```
 */
export function localSpawner(native: Native): Spawner {
  return { spawn: (plan, io, consoleSocket) => spawnWithConsole(native, plan, io, consoleSocket) };
}

/** The host as the OCI plan sees it. */
function ociHost(warn: (m: string) => void): OciHost {
  let cgroup2 = false;
  try {
    Deno.statSync("/sys/fs/cgroup/cgroup.controllers");
    cgroup2 = true;
  } catch { /* v1 or hybrid */ }
  return {
    realPath(path) {
      try {
        return Deno.realPathSync(path);
      } catch {
        return null;
      }
    },
    device(path) {
      try {
        const st = Deno.statSync(path);
        if (!st.isCharDevice && !st.isBlockDevice) return null;
        const rdev = st.rdev ?? 0;
        const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
        const minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff & 0xfffff);
        return { type: st.isCharDevice ? "c" : "b", major, minor };
      } catch {
        return null;
      }
    },
    cgroup2,
    warn,
  };
}

/**
 * Creates the container `id` from its bundle.
 *
 * @example
 * ```ts ignore
 * await createContainer({ root, id: "c1", bundle: "/b", pidFile: "/b/pid", consoleSocket: null, noNewKeyring: false,
 *   warn: console.warn });
 * ```
 */
export async function createContainer(o: CreateOptions): Promise<void> {
  const bundle = Deno.realPathSync(o.bundle);
  let text: string;
  try {
    text = Deno.readTextFileSync(`${bundle}/config.json`);
  } catch (e) {
    throw new OciError(`${bundle}/config.json: ${e instanceof Error ? e.message : e}`);
  }
  const config = readConfig(text);
  if (config.process.terminal && !o.consoleSocket) {
    throw new OciError("process.terminal is true: --console-socket is required");
  }
  const native = await loadNative();
  prepareInit(native);
  const dir = ContainerDir.create(o.root, o.id);
  let initPid = 0;
  try {
    const rc = native.hk_mkfifo(cstr(dir.fifo), 0o600);
    if (rc < 0) throw new OciError(`${dir.fifo}: ${describeErrno(native, -rc).join(": ")}`);
    const setgroups = canSetgroups();
    const plan = ociPlan(
      config,
      { bundle, startFifo: dir.fifo, setgroups, noNewKeyring: o.noNewKeyring },
      ociHost(o.warn),
    );
    let io: SpawnIo = { stdio: [0, 1, 2], session: "new", setgroups };
    const limits = resourceFiles(config.linux.resources);
    if (config.linux.cgroupsPath !== null || limits.length) {
      // runc's default for a container with limits and no path: its id beneath the caller's cgroup.
      const host = currentNamedCgroupHost();
      const dirs = makeNamedCgroup(cgroupfsPath(config.linux.cgroupsPath ?? o.id), limits, {
        ...host,
        cgroup: o.callerCgroup ?? host.cgroup,
      });
      dir.writeCgroup(dirs);
      io = { ...io, cgroupJoins: dirs };
    }
    io = { ...io, seccomp: compileProfile(plan.seccomp!) };
    const spawner = o.spawner ?? localSpawner(native);
    initPid = await spawner.spawn(plan, io, config.process.terminal ? o.consoleSocket : null);
    const stat = procStat(initPid);
    if (!stat) throw new OciError("the container's init ended before it was ready");
    dir.writeState({
      ociVersion: config.ociVersion,
      id: o.id,
      status: "created",
      pid: initPid,
      bundle,
      rootfs: plan.root.source!,
      created: new Date().toISOString(),
      owner: "",
      annotations: config.annotations,
    }, { pid: initPid, startTime: stat.startTime });
    if (o.pidFile) writePidFile(o.pidFile, initPid);
    dir.close();
  } catch (e) {
    if (initPid > 0) {
      try {
        Deno.kill(initPid, "SIGKILL");
      } catch { /* gone */ }
    }
    dir.remove();
    throw e;
  }
}
