/**
 * The decider: a warm Deno for `create`. Deno's own start-up is as long as runc's whole `create`, and podman and
 * containerd run a new runtime process for every call, so bin/hakoniwa-oci (native/oci_front.c) keeps one Deno per
 * root, namespaces and runtime build, listening on a unix socket in the root directory (0700: the caller's alone).
 * The front end sends its `create` command line, working directory and cgroup; the decider does all that TypeScript
 * decides (config.json, the state directory, the cgroup, the plan, the spec) and sends the spec back; the front end
 * spawns it (hk_spawn, linked in), so the container's init is the caller's child as runc's is, waits until the
 * command is ready, sends a terminal's master to the console socket, and says how it went; the decider records the
 * state (or removes what it made) and gives the exit code and the text for the caller's stderr.
 *
 * Commands are served side by side (a container whose setup hangs holds only its own caller); the caller's relative
 * paths are taken from its working directory, never this process's (which is /). The decider exits after
 * {@link IDLE_MS} without a command in flight. The first `create` of a root starts it and runs in a Deno of its own
 * meanwhile.
 *
 * @module
 */
import { HakoniwaError } from "../common/errors.ts";
import { DECIDE } from "../generated/abi.js";
import { describeErrno, loadNative, type Native } from "../native/ffi.ts";
import { encodeSpec } from "../run/spec.ts";
import { runOci } from "./app.ts";
import type { Spawner } from "./create.ts";
import { NO_REPORT, recordError, spawnError } from "./spawn.ts";
import { OciError } from "./state.ts";

/** How long the decider waits for a command before it exits (HAKONIWA_OCI_DECIDER_IDLE_MS changes it). */
export const IDLE_MS = 30_000;

/** The hello that opens a request; another version's front end is refused (it runs create in Deno). */
export const HELLO = `hakoniwa-oci-decide-${DECIDE.VERSION}`;

const encoder = new TextEncoder();

/** Reads exactly n bytes, or null at the end of the stream. */
async function readExact(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) return null;
    got += r;
  }
  return buf;
}

/** One message: [u32 length][u8 kind][payload]. */
async function readMessage(conn: Deno.Conn): Promise<{ kind: number; body: Uint8Array } | null> {
  const head = await readExact(conn, 4);
  if (!head) return null;
  const len = new DataView(head.buffer).getUint32(0, true);
  if (len < 1 || len > 1 << 20) throw new OciError(`decider: a message of ${len} bytes`);
  const msg = await readExact(conn, len);
  return msg && { kind: msg[0], body: msg.subarray(1) };
}

async function writeMessage(conn: Deno.Conn, kind: number, ...parts: Uint8Array[]): Promise<void> {
  const len = 1 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(4 + len);
  new DataView(out.buffer).setUint32(0, len, true);
  out[4] = kind;
  let at = 5;
  for (const p of parts) out.set(p, at), at += p.length;
  for (let off = 0; off < out.length;) off += await conn.write(out.subarray(off));
}

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};

/** The spawner of a front end: it spawns the spec and answers with the outcome. */
function frontEndSpawner(native: Native, conn: Deno.Conn): Spawner {
  return {
    async spawn(plan, io, consoleSocket) {
      if (consoleSocket) {
        const pty = DECIDE.PTY_FD;
        io = { ...io, stdio: [pty, pty, pty], session: "tty" };
      }
      const console = encoder.encode(consoleSocket ?? "");
      await writeMessage(
        conn,
        DECIDE.SPAWN,
        new Uint8Array([consoleSocket ? 1 : 0]),
        u32(console.length),
        console,
        encodeSpec(plan, io),
      );
      const reply = await readMessage(conn);
      if (!reply) throw new OciError("the front end went away while the container was being made");
      const view = new DataView(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
      switch (reply.kind) {
        case DECIDE.READY:
          return view.getInt32(0, true);
        case DECIDE.RECORD:
          throw recordError(native, reply.body);
        case DECIDE.SPAWN_FAILED:
          throw spawnError(native, reply.body);
        case DECIDE.CONSOLE: // as create's own spawner says it
          throw new OciError(
            `--console-socket ${consoleSocket}: ${describeErrno(native, view.getInt32(0, true)).join(": ")}`,
          );
        case DECIDE.LOST:
          throw new OciError(NO_REPORT);
      }
      throw new OciError(`decider: the front end answered with a message of kind ${reply.kind}`);
    },
  };
}

/** Serves one front end's `create`. */
async function serve(native: Native, conn: Deno.Conn): Promise<void> {
  const request = await readMessage(conn);
  if (!request) return;
  if (request.kind !== DECIDE.REQUEST) {
    throw new OciError(`decider: a message of kind ${request.kind} before a request`);
  }
  const fields = new TextDecoder().decode(request.body).split("\0");
  fields.pop(); // after the last NUL
  const [hello, cwd, cgroup, ...argv] = fields;
  const stderr: Uint8Array[] = [];
  let code = 1;
  if (hello !== HELLO || cwd === undefined || cgroup === undefined) {
    stderr.push(encoder.encode(`hakoniwa-oci: the decider speaks ${HELLO}, not ${hello}\n`));
  } else {
    code = await runOci(argv, {
      stderr: (bytes) => void stderr.push(bytes.slice()),
      spawner: frontEndSpawner(native, conn),
      cgroup,
      cwd,
    });
  }
  await writeMessage(conn, DECIDE.DONE, new Uint8Array([code]), ...stderr);
}

/**
 * Listens on `socket` (0600) and serves front ends until {@link IDLE_MS} pass without one. Another decider already
 * listening there is left alone (this one exits); a socket file nobody listens on is replaced.
 *
 * @example
 * ```ts ignore
 * await serveDecider("/run/hakoniwa-oci/decider-1a2b.sock");
 * ```
 */
export async function serveDecider(socket: string): Promise<void> {
  const native = await loadNative();
  const idleMs = Number(Deno.env.get("HAKONIWA_OCI_DECIDER_IDLE_MS") ?? IDLE_MS) || IDLE_MS;
  if (!socket.startsWith("/")) socket = `${Deno.cwd()}/${socket}`; // a --root relative to the first caller's
  Deno.chdir("/");
  // The root may not exist yet: the first create, which started this decider, makes it meanwhile (0700 too).
  Deno.mkdirSync(socket.slice(0, socket.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  try {
    (await Deno.connect({ transport: "unix", path: socket })).close();
    return; // another decider serves
  } catch { /* none: a socket file left there is replaced */ }
  // Bound in a directory of its own and made the owner's alone (0600) before it takes the name: at no moment can
  // another user connect (the front end checks the listener's uid too: native/oci_decide.c).
  const dir = socket.slice(0, socket.lastIndexOf("/"));
  const fresh = Deno.makeTempDirSync({ dir, prefix: ".decider-" });
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ transport: "unix", path: `${fresh}/s` });
    Deno.chmodSync(`${fresh}/s`, 0o600);
    Deno.renameSync(`${fresh}/s`, socket);
  } finally {
    Deno.removeSync(fresh, { recursive: true });
  }
  let inFlight = 0;
  let idle = setTimeout(() => listener.close(), idleMs);
  const done = async (conn: Deno.Conn) => {
    try {
      await serve(native, conn);
    } catch (e) {
      // A front end that went away, or a message out of turn: that command fails, the decider goes on.
      if (!(e instanceof HakoniwaError) && !(e instanceof Deno.errors.BrokenPipe)) console.error(e);
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
      if (--inFlight === 0) idle = setTimeout(() => listener.close(), idleMs);
    }
  };
  try {
    for await (const conn of listener) {
      clearTimeout(idle);
      inFlight++;
      done(conn);
    }
  } finally {
    clearTimeout(idle);
    try {
      Deno.removeSync(socket);
    } catch { /* gone */ }
  }
}
