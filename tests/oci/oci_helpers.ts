/**
 * Helpers for the OCI runtime's tests: a busybox root, bundles, and running bin/hakoniwa-oci, podman and ctr.
 *
 * @module
 */
import { ROOT } from "../helpers.ts";
import { buildRootfs } from "../rootfs.ts";

/** The runtime as callers run it. */
export const RUNTIME = `${ROOT}/bin/hakoniwa-oci`;

/** Output of one command. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether a program is on PATH. */
export function have(program: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Runs a command with a time limit, collecting its output. */
export async function run(
  cmd: string,
  args: string[],
  o: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Output> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: o.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: o.env,
    signal: AbortSignal.timeout(o.timeoutMs ?? 120_000),
  }).spawn();
  if (o.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(o.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A temporary directory (readable by everyone, for a rootless podman's user namespace) with a busybox root. */
export function ociRootfs(): { dir: string; rootfs: string } {
  const dir = Deno.makeTempDirSync({ prefix: "hakoniwa-oci-" });
  Deno.chmodSync(dir, 0o755);
  const rootfs = `${dir}/rootfs`;
  buildRootfs(rootfs);
  for (const d of ["sys", "run"]) Deno.mkdirSync(`${rootfs}/${d}`, { recursive: true });
  Deno.writeTextFileSync(`${rootfs}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
  Deno.writeTextFileSync(`${rootfs}/etc/group`, "root:x:0:\nnogroup:x:65534:\n");
  return { dir, rootfs };
}

/**
 * A minimal config.json for `rootfs` running `args`, as `runc spec` writes one (rootless: with a user namespace
 * mapping the caller's ids when not root).
 */
export function minimalConfig(args: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const root = Deno.uid() === 0;
  const namespaces = [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }, { type: "network" }];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
      cwd: "/",
      capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: false },
    hostname: "oci",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    linux: {
      namespaces: root ? namespaces : [...namespaces, { type: "user" }],
      ...(root ? {} : {
        uidMappings: [{ containerID: 0, hostID: Deno.uid(), size: 1 }],
        gidMappings: [{ containerID: 0, hostID: Deno.gid(), size: 1 }],
      }),
      maskedPaths: ["/proc/kcore", "/proc/acpi"],
      readonlyPaths: ["/proc/sys"],
    },
    ...extra,
  };
}

/** Writes config.json into `dir` (whose rootfs/ is the root). */
export function writeConfig(dir: string, config: Record<string, unknown>) {
  Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(config, null, 2));
}

/**
 * Runs bin/hakoniwa-oci with `--root stateRoot`. A `create` passes its stdio to the container, which keeps it open:
 * its stdout and stderr go to files (`stateRoot`.out and .err, the container's output), read once it returns.
 */
export async function oci(
  stateRoot: string,
  args: string[],
  o: { env?: Record<string, string> } = {},
): Promise<Output> {
  if (!args.includes("create")) return run(RUNTIME, ["--root", stateRoot, ...args], o);
  const [out, err] = [`${stateRoot}.out`, `${stateRoot}.err`];
  const r = await run("/bin/sh", ["-c", `exec "$@" >>${out} 2>${err}`, "sh", RUNTIME, "--root", stateRoot, ...args], o);
  return { ...r, stderr: Deno.readTextFileSync(err) };
}
