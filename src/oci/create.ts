/**
 * `create`: reads the bundle, claims the id, starts the container's init detached (it builds the root, forks the
 * command, which sets itself up and waits on the start fifo) and records the state; the init lives on as the
 * caller's child (a subreaper's, for podman's conmon and containerd's shim) when this process exits.
 *
 * @module
 */
import { describeErrno, loadNative } from "../native/ffi.ts";
import { prepareInit } from "../native/ffi.ts";
import { canSetgroups, type SpawnIo } from "../run/spec.ts";
import { compileProfile } from "../seccomp/profile.ts";
import { makeNamedCgroup } from "../cgroup/named.ts";
import { resourceFiles } from "./resources.ts";
import { readConfig } from "./config.ts";
import { ociPlan } from "./plan.ts";
import type { OciHost } from "./mounts.ts";
import { ContainerDir, OciError, procStat } from "./state.ts";
import { cstr, spawnReady } from "./spawn.ts";

/** What `create` is given. */
export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile: string | null;
  consoleSocket: string | null;
  noNewKeyring: boolean;
  warn: (message: string) => void;
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
  const closers: number[] = [];
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
    let master = -1;
    if (config.process.terminal) {
      const fds = new Int32Array(2);
      const r = native.hk_pty_open(fds);
      if (r < 0) throw new OciError(`cannot open a pseudo-terminal: ${describeErrno(native, -r).join(": ")}`);
      [master] = fds;
      closers.push(fds[0], fds[1]);
      io = { ...io, stdio: [fds[1], fds[1], fds[1]], session: "tty" };
    }
    const limits = resourceFiles(config.linux.resources);
    if (config.linux.cgroupsPath !== null || limits.length) {
      // runc's default for a container with limits and no path: its id beneath the caller's cgroup.
      const dirs = makeNamedCgroup(config.linux.cgroupsPath ?? o.id, limits);
      dir.writeCgroup(dirs);
      io = { ...io, cgroupJoins: dirs };
    }
    io = { ...io, seccomp: compileProfile(plan.seccomp!) };
    initPid = await spawnReady(native, plan, io);
    const stat = procStat(initPid);
    if (!stat) throw new OciError("the container's init ended before it was ready");
    if (master >= 0) {
      const r = native.hk_send_fd(cstr(o.consoleSocket!), master);
      if (r < 0) throw new OciError(`--console-socket ${o.consoleSocket}: ${describeErrno(native, -r).join(": ")}`);
    }
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
    if (o.pidFile) {
      const tmp = `${o.pidFile}.${Deno.pid}.tmp`;
      Deno.writeTextFileSync(tmp, String(initPid));
      Deno.renameSync(tmp, o.pidFile);
    }
    dir.close();
  } catch (e) {
    if (initPid > 0) {
      try {
        Deno.kill(initPid, "SIGKILL");
      } catch { /* gone */ }
    }
    dir.remove();
    throw e;
  } finally {
    for (const fd of closers) native.hk_close(fd);
  }
}
