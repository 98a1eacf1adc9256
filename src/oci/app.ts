/**
 * runc's command line, as podman, containerd's runc shim and Kubernetes (through containerd) call it: global
 * `--root`, `--log`, `--log-format`, `--systemd-cgroup`, then `create`, `start`, `state`, `kill`, `delete`, `ps`,
 * `features`, `exec`. {@link runOci} returns the exit code; oci.ts exits with it.
 *
 * @module
 */
import { HakoniwaError } from "../common/errors.ts";
import { openLog } from "./log.ts";
import { defaultRoot, OciError } from "./state.ts";

import { OCI_RUNTIME_VERSION } from "./version.ts";
import type { Spawner } from "./create.ts";

/**
 * What a caller other than this process's own command line brings (the decider, src/oci/decider.ts): where its
 * errors go, who spawns, and its cgroup.
 */
export interface OciCaller {
  /** Its stderr. */
  stderr: (bytes: Uint8Array) => void;
  /** Spawns a container's init in the caller. */
  spawner: Spawner;
  /** The caller's /proc/self/cgroup. */
  cgroup: string;
  /** The caller's working directory, where its relative paths are. */
  cwd: string;
}

/** Flags of one command: name -> whether it takes a value. */
type FlagTable = Record<string, boolean>;

const GLOBAL: FlagTable = {
  root: true,
  log: true,
  "log-format": true,
  "systemd-cgroup": false,
  debug: false,
  rootless: true,
  criu: true,
};

const COMMANDS: Record<string, { flags: FlagTable; short?: Record<string, string>; operands: [number, number] }> = {
  create: {
    flags: {
      bundle: true,
      "pid-file": true,
      "console-socket": true,
      "no-pivot": false,
      "no-new-keyring": false,
      "preserve-fds": true,
    },
    short: { b: "bundle" },
    operands: [1, 1],
  },
  start: { flags: {}, operands: [1, 1] },
  state: { flags: {}, operands: [1, 1] },
  kill: { flags: { all: false }, short: { a: "all" }, operands: [1, 2] },
  delete: { flags: { force: false }, short: { f: "force" }, operands: [1, 1] },
  ps: { flags: { format: true }, short: { f: "format" }, operands: [1, 1] },
  features: { flags: {}, operands: [0, 0] },
  exec: {
    flags: {
      process: true,
      detach: false,
      "pid-file": true,
      tty: false,
      "console-socket": true,
      cwd: true,
      env: true,
      user: true,
      "no-new-privs": false,
      "preserve-fds": true,
    },
    short: { p: "process", d: "detach", t: "tty", e: "env", u: "user" },
    operands: [1, Infinity],
  },
};

/** Parsed arguments: flags by name (repeated ones collected) and operands. */
interface Parsed {
  flags: Map<string, string[]>;
  operands: string[];
}

function parseFlags(args: string[], table: FlagTable, short: Record<string, string>, stopAtOperand: boolean): Parsed {
  const flags = new Map<string, string[]>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m || a === "-") {
      operands.push(a);
      if (stopAtOperand) {
        operands.push(...args.slice(i + 1));
        break;
      }
      continue;
    }
    const name = short[m[1]] ?? m[1];
    if (!(name in table)) throw new OciError(`flag provided but not defined: ${a}`);
    let value = m[2] ?? "true";
    if (table[name] && m[2] === undefined) {
      if (i + 1 >= args.length) throw new OciError(`flag needs an argument: ${a}`);
      value = args[++i];
    }
    flags.set(name, [...flags.get(name) ?? [], value]);
  }
  return { flags, operands };
}

const one = (p: Parsed, name: string): string | null => p.flags.get(name)?.at(-1) ?? null;
const yes = (p: Parsed, name: string): boolean => !["false", undefined].includes(p.flags.get(name)?.at(-1));

/** Where output goes (stdout of this process). */
function print(text: string) {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/**
 * Runs the runtime with `argv` (without the program name) and returns the exit code (0, or 1 on error, as runc);
 * `caller` when the command line is a decider's caller's (its create only).
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runOci(["--root", "/run/x", "state", "c1"]));
 * ```
 */
export async function runOci(argv: string[], caller?: OciCaller): Promise<number> {
  const global = parseFlags(argv, { ...GLOBAL, version: false, help: false }, { v: "version", h: "help" }, true);
  // A path on the command line is the caller's: relative to its working directory, not this process's.
  const at = (path: string) => !caller || path.startsWith("/") ? path : `${caller.cwd}/${path}`;
  const atOr = (path: string | null) => path === null ? null : at(path);
  const format = one(global, "log-format") ?? "text";
  const log = openLog(
    atOr(one(global, "log")),
    format === "json" ? "json" : "text",
    yes(global, "debug"),
    caller?.stderr,
  );
  try {
    if (format !== "text" && format !== "json") throw new OciError(`--log-format ${format}: expected text or json`);
    if (yes(global, "version")) {
      print(`hakoniwa-oci version ${OCI_RUNTIME_VERSION}\nspec: 1.0.2\n`);
      return 0;
    }
    const [command, ...rest] = global.operands;
    if (!command || yes(global, "help")) {
      print(
        `usage: hakoniwa-oci [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...\ncommands: ${
          Object.keys(COMMANDS).join(", ")
        }\n`,
      );
      return command ? 0 : 1;
    }
    const spec = COMMANDS[command];
    if (!spec) throw new OciError(`unknown command ${JSON.stringify(command)}`);
    const p = parseFlags(rest, spec.flags, spec.short ?? {}, command === "exec");
    if (p.operands.length < spec.operands[0] || p.operands.length > spec.operands[1]) {
      throw new OciError(`${command}: expected ${spec.operands[0] === 1 ? "a container id" : "no operand"}`);
    }
    const root = atOr(one(global, "root")) ?? defaultRoot();
    const id = p.operands[0];
    const warn = (m: string) => log.write("debug", m);
    switch (command) {
      case "create": {
        if (Number(one(p, "preserve-fds") ?? 0) > 0) throw new OciError("--preserve-fds: not supported");
        const { createContainer } = await import("./create.ts");
        await createContainer({
          root,
          id,
          bundle: at(one(p, "bundle") ?? "."),
          pidFile: atOr(one(p, "pid-file")),
          consoleSocket: atOr(one(p, "console-socket")),
          noNewKeyring: yes(p, "no-new-keyring"),
          warn,
          spawner: caller?.spawner,
          callerCgroup: caller?.cgroup,
        });
        return 0;
      }
      case "start": {
        const { startContainer } = await import("./lifecycle.ts");
        await startContainer(root, id);
        return 0;
      }
      case "state": {
        const { containerState } = await import("./lifecycle.ts");
        print(JSON.stringify(containerState(root, id)));
        return 0;
      }
      case "kill": {
        const { killContainer, parseSignal } = await import("./lifecycle.ts");
        killContainer(root, id, parseSignal(p.operands[1] ?? "SIGTERM"), yes(p, "all"));
        return 0;
      }
      case "delete": {
        const { deleteContainer } = await import("./lifecycle.ts");
        await deleteContainer(root, id, yes(p, "force"));
        return 0;
      }
      case "ps": {
        const { containerPids } = await import("./lifecycle.ts");
        const { ContainerDir } = await import("./state.ts");
        const dir = ContainerDir.open(root, id);
        const pids = containerPids(dir.init());
        dir.close();
        print(one(p, "format") === "json" ? JSON.stringify(pids) + "\n" : `PID\n${pids.join("\n")}\n`);
        return 0;
      }
      case "features": {
        const { features } = await import("./features.ts");
        print(JSON.stringify(features(), null, 2) + "\n");
        return 0;
      }
      case "exec": {
        const { execProcess } = await import("./exec.ts");
        return await execProcess(root, id, {
          process: one(p, "process"),
          args: p.operands.slice(1),
          detach: yes(p, "detach"),
          pidFile: one(p, "pid-file"),
          tty: yes(p, "tty"),
          consoleSocket: one(p, "console-socket"),
          cwd: one(p, "cwd"),
          env: p.flags.get("env") ?? [],
          user: one(p, "user"),
          noNewPrivs: yes(p, "no-new-privs"),
        });
      }
    }
    return 1;
  } catch (e) {
    // Deno's own errors (a file that cannot be written...) are said the same way: one line, exit 1.
    log.write(
      "error",
      e instanceof HakoniwaError || !(e instanceof Error)
        ? String(e instanceof Error ? e.message : e)
        : `${e.name}: ${e.message}`,
    );
    return 1;
  }
}
