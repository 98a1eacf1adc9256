/**
 * `exec`: a new process in a container's namespaces (every one of them joined, the mount and pid ones too: the
 * container's root and pids), with the container's seccomp profile and its own process.json (args, env, cwd, user,
 * capabilities, rlimits, noNewPrivileges, terminal). Detached (containerd's shim and podman's conmon always ask
 * for it), the process is the caller's child and its pid goes to --pid-file; otherwise this waits for it and
 * returns its exit code.
 *
 * @module
 */
import { loadNative, prepareInit } from "../native/ffi.ts";
import type { Plan } from "../plan/types.ts";
import { canSetgroups, type SpawnIo } from "../run/spec.ts";
import { compileProfile } from "../seccomp/profile.ts";
import { type OciProcess, readConfig, readProcess } from "./config.ts";
import { processCapabilities, processPlan } from "./plan.ts";
import { alive, containerCgroup, ContainerDir, OciError, writePidFile } from "./state.ts";
import { spawnWithConsole } from "./spawn.ts";

/** What `exec` is given. */
export interface ExecOptions {
  /** A process.json (the runtime spec's process object), or null for `args` and the flags below. */
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

/** The container's namespaces as /proc paths, in the order the monitor joins them (see join_and_open). */
const NS = [["user", "user"], ["ipc", "ipc"], ["uts", "uts"], ["net", "network"], ["pid", "pid"], [
  "cgroup",
  "cgroup",
], ["mnt", "mount"]] as const;

function processOf(o: ExecOptions, fallback: OciProcess): OciProcess {
  if (o.process) {
    let json: unknown;
    try {
      json = JSON.parse(Deno.readTextFileSync(o.process));
    } catch (e) {
      throw new OciError(`--process ${o.process}: ${e instanceof Error ? e.message : e}`);
    }
    return readProcess(json, "process");
  }
  if (!o.args.length) throw new OciError("exec: give --process FILE or a command");
  const [uid, gid] = (o.user ?? "0:0").split(":").map(Number);
  if (!Number.isInteger(uid) || (gid !== undefined && !Number.isInteger(gid))) {
    throw new OciError(`--user ${o.user}: expected UID[:GID]`);
  }
  return {
    ...fallback,
    terminal: o.tty,
    uid,
    gid: gid ?? 0,
    args: o.args,
    env: [...fallback.env, ...o.env],
    cwd: o.cwd ?? fallback.cwd,
    noNewPrivileges: fallback.noNewPrivileges || o.noNewPrivs,
  };
}

/**
 * Runs a process in the container `id`; returns its exit code (0 at once with `detach`).
 *
 * @example
 * ```ts ignore
 * await execProcess(root, "c1", { process: "/tmp/p.json", args: [], detach: true, pidFile: "/tmp/p.pid",
 *   tty: false, consoleSocket: null, cwd: null, env: [], user: null, noNewPrivs: false });
 * ```
 */
export async function execProcess(root: string, id: string, o: ExecOptions): Promise<number> {
  const dir = ContainerDir.open(root, id);
  let state, init;
  try {
    state = dir.state();
    init = dir.init();
  } finally {
    dir.close();
  }
  if (state.status !== "running") throw new OciError(`cannot exec in a ${state.status} container`);
  const config = readConfig(Deno.readTextFileSync(`${state.bundle}/config.json`));
  const p = processOf(o, config.process);
  if (p.terminal && !o.consoleSocket) throw new OciError("a terminal needs --console-socket");
  const join = [];
  for (const [file, namespace] of NS) {
    const path = `/proc/${init.pid}/ns/${file}`;
    let target: string;
    try {
      target = Deno.readLinkSync(path);
    } catch (e) {
      throw new OciError(`cannot see the container's ${file} namespace: ${e instanceof Error ? e.message : e}`);
    }
    // A namespace the container shares with this caller is not joined: it would change nothing, and the kernel
    // refuses one's own user namespace (EINVAL) and one owned by an ancestor user namespace (EPERM, rootless).
    if (target === Deno.readLinkSync(`/proc/self/ns/${file}`)) continue;
    join.push({ namespace, path });
  }
  const setgroups = canSetgroups();
  const env: [string, string][] = p.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]);
  const plan: Plan = {
    namespaces: [],
    root: { source: null, readonly: false },
    mounts: [],
    uidMap: [],
    gidMap: [],
    ...processPlan(p, env, setgroups, config.linux.seccomp),
    hostname: "",
    loopback: false,
    keyring: false,
    network: { mode: "host", options: [] },
    oci: {
      startFifo: null,
      detach: o.detach,
      exec: true,
      join,
      capabilities: processCapabilities(p, () => {}),
      oomScoreAdj: p.oomScoreAdj,
      umask: p.umask,
    },
  };
  const native = await loadNative();
  prepareInit(native);
  let io: SpawnIo = { stdio: [0, 1, 2], session: "new", setgroups, seccomp: compileProfile(plan.seccomp!) };
  io = { ...io, cgroupJoins: containerCgroup(`${root}/${id}`) };
  if (!alive(init)) throw new OciError("container not running");
  let status: Promise<number> | undefined;
  const pid = await spawnWithConsole(
    native,
    plan,
    io,
    p.terminal ? o.consoleSocket : null,
    o.detach ? undefined : (s) => status = s,
  );
  if (o.pidFile) writePidFile(o.pidFile, pid);
  if (!status) return 0;
  const st = await status;
  return st & 0x7f ? 128 + (st & 0x7f) : (st >> 8) & 0xff;
}
