/**
 * hakoniwa 1.x config files (`hakoniwa run -c FILE`): the 1.x TOML schema,
 * rendered with minijinja first, turned into this project's typed
 * {@link Policy}. A 1.x config selects 1.x's defaults: no embedded KISS
 * policy underneath, only the user, mount and pid namespaces unless
 * `namespaces` lists more, no /tmp or /dev unless mounted, directories
 * made with mode 0700. docs/compat.md lists what still differs.
 *
 * ```toml
 * "@include" = ["abstractions/rootfs.toml"]   # relative to this file
 * namespaces = [{ type = "network" }, { type = "uts" }]
 * mounts = [{ source = "/etc" }, { source = "", destination = "/tmp", type = "tmpfs" }]
 * envs = [{ name = "TERM" }, { name = "LANG", value = "C.UTF-8" }]
 * limits = [{ type = "walltime", value = 60 }]
 * [command]
 * cmdline = ["sh"]
 * ```
 *
 * @module
 */
import { PolicyError } from "../../common/errors.ts";
import { MAX_ID } from "../../plan/idmap.ts";
import type { IdMapEntry } from "../../plan/idmap.ts";
import { parseLandlockPolicy } from "../../plan/landlock.ts";
import { parseNetworkPolicy } from "../../net/network.ts";
import type { Policy, PolicyMount } from "../policy.ts";
import { type KeyPath, parsePolicyToml, PolicyCursor } from "../check.ts";
import { MAX_RLIMIT, RLIMIT_NAMES, type RlimitName } from "../../plan/rlimit.ts";
import { resolveSeccomp } from "../../seccomp/oci.ts";
import { fileErrorText, UsageError } from "../../common/errors.ts";
import { readHostText, readHostTextSync } from "../../native/safe_open.ts";

/** Top-level keys of a 1.x config. */
export const CONFIG_1X_KEYS = [
  "@include",
  "namespaces",
  "mounts",
  "filesystem",
  "envs",
  "network",
  "landlock",
  "rootdir",
  "uidmaps",
  "gidmaps",
  "uidmap",
  "gidmap",
  "hostname",
  "limits",
  "seccomp",
  "command",
] as const;

/** The keys an `@include`d file may have (1.x's `CfgInclude`). */
export const INCLUDE_1X_KEYS = ["namespaces", "mounts", "filesystem", "envs", "network", "landlock"] as const;

/** Namespaces a 1.x config may list (user, mount and pid are always new). */
export const NAMESPACES_1X = ["cgroup", "ipc", "network", "uts"] as const;

/** How {@link parseConfig1x} meets the host; every field defaults to the real one. */
export interface Config1xHost {
  /** The environment (`envs` without `value`, templates). */
  env?: Record<string, string>;
  /** The directory relative paths are resolved against (1.x: the working directory). */
  cwd?: string;
  /** The caller's uid and gid (the default `host_id` of an id map). */
  uid?: number;
  /** See `uid`. */
  gid?: number;
  /** Reads an included file. */
  read?: (path: string) => string;
  /**
   * Whether the template functions that change the host (`fs_mkdir`, `fs_touch`) act (default true). `explain`
   * passes false: it runs nothing on the host, and logs what a run would do instead.
   */
  effects?: boolean;
}

type Ns = (typeof NAMESPACES_1X)[number];

/** One file's settings, validated, before merging. */
interface Layer {
  includes: { path: string; at: KeyPath }[];
  namespaces: { type: Ns; share: boolean }[];
  mounts: PolicyMount[];
  files: Policy["files"];
  dirs: Policy["dirs"];
  symlinks: Policy["symlinks"];
  envs: [string, string][];
  network?: Policy["network"];
  landlock?: { resources: unknown[]; fs: unknown[]; net: unknown[] };
  rootdir?: Policy["rootdir"];
  uidMaps?: IdMapEntry[];
  gidMaps?: IdMapEntry[];
  hostname?: string;
  limits: Policy["limits"];
  seccomp?: Policy["seccomp"];
  command?: Policy["command"];
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return "/" + out.join("/");
}

/** An absolute path: relative ones are taken from `base`, `.` and `..` resolved. */
function absolute(path: string, base: string): string {
  return normalize(path.startsWith("/") ? path : `${base}/${path}`);
}

function idMaps(c: PolicyCursor, key: string, v: unknown, hostId: number): IdMapEntry[] | undefined {
  if (v === undefined) return undefined;
  return c.array([key], v, "an array of tables").map((e, i) => {
    const at = [key, i];
    const t = c.table(at, e, ["container_id", "host_id", "size", "count"]);
    if (t.size !== undefined && t.count !== undefined) c.fail([...at, "count"], "give size or count, not both");
    if (t.container_id === undefined) c.fail([...at, "container_id"], "missing (expected an integer)");
    const container = c.int([...at, "container_id"], t.container_id, 0, MAX_ID);
    const host = t.host_id === undefined ? hostId : c.int([...at, "host_id"], t.host_id, 0, MAX_ID);
    const n = t.size ?? t.count;
    const count = n === undefined ? 1 : c.int([...at, t.size !== undefined ? "size" : "count"], n, 1, MAX_ID);
    if (container + count - 1 > MAX_ID || host + count - 1 > MAX_ID) {
      c.fail(at, `the range passes the largest id ${MAX_ID}`);
    }
    return { container, host, count };
  });
}

function parseLayer(
  c: PolicyCursor,
  raw: Record<string, unknown>,
  keys: readonly string[],
  host: Required<Config1xHost>,
): Layer {
  const top = c.table([], raw, keys);
  const layer: Layer = {
    includes: [],
    namespaces: [],
    mounts: [],
    files: [],
    dirs: [],
    symlinks: [],
    envs: [],
    limits: {},
  };
  layer.includes = c.array(["@include"], top["@include"], "an array of strings").map((p, i) => ({
    path: c.str(["@include", i], p),
    at: ["@include", i],
  }));
  layer.namespaces = c.array(["namespaces"], top.namespaces, "an array of tables").map((n, i) => {
    const t = c.table(["namespaces", i], n, ["type", "share"]);
    const type = c.str(["namespaces", i, "type"], t.type);
    if (!NAMESPACES_1X.includes(type as Ns)) {
      c.fail(["namespaces", i, "type"], `expected one of ${NAMESPACES_1X.join(", ")}, got ${JSON.stringify(type)}`);
    }
    return { type: type as Ns, share: c.bool(["namespaces", i, "share"], t.share, false) };
  });
  layer.mounts = c.array(["mounts"], top.mounts, "an array of tables").map((m, i): PolicyMount => {
    const at = ["mounts", i];
    const t = c.table(at, m, ["source", "destination", "type", "rw"]);
    const source = c.str([...at, "source"], t.source);
    const type = t.type === undefined ? "" : c.str([...at, "type"], t.type);
    const rw = c.bool([...at, "rw"], t.rw, false);
    if (type === "") {
      if (source === "") c.fail([...at, "source"], "a bind mount needs a source");
      const src = absolute(source, host.cwd);
      const target = t.destination === undefined ? src : c.absPath([...at, "destination"], t.destination);
      return { source: src, target, rw, optional: false };
    }
    if (type !== "tmpfs" && type !== "devfs" && type !== "proc") {
      c.fail([...at, "type"], `expected "" (a bind), "tmpfs", "devfs" or "proc", got ${JSON.stringify(type)}`);
    }
    if (t.destination === undefined) c.fail([...at, "destination"], `missing (a ${type} mount needs a destination)`);
    return { target: c.absPath([...at, "destination"], t.destination), rw: true, fstype: type };
  });
  if (top.filesystem !== undefined) {
    const fs = c.table(["filesystem"], top.filesystem, ["files", "dirs", "symlinks"]);
    layer.files = c.array(["filesystem", "files"], fs.files, "an array of tables").map((f, i) => {
      const at = ["filesystem", "files", i];
      const t = c.table(at, f, ["destination", "contents"]);
      if (t.contents === undefined) c.fail([...at, "contents"], "missing (expected a string)");
      return {
        target: c.absPath([...at, "destination"], t.destination),
        contents: c.str([...at, "contents"], t.contents),
      };
    });
    layer.dirs = c.array(["filesystem", "dirs"], fs.dirs, "an array of tables").map((d, i) => {
      const at = ["filesystem", "dirs", i];
      const t = c.table(at, d, ["destination"]);
      return { target: c.absPath([...at, "destination"], t.destination), mode: 0o700 };
    });
    layer.symlinks = c.array(["filesystem", "symlinks"], fs.symlinks, "an array of tables").map((s, i) => {
      const at = ["filesystem", "symlinks", i];
      const t = c.table(at, s, ["original", "link"]);
      if (t.original === undefined) c.fail([...at, "original"], "missing (expected a string)");
      return { original: c.str([...at, "original"], t.original), link: c.absPath([...at, "link"], t.link) };
    });
  }
  layer.envs = c.array(["envs"], top.envs, "an array of tables").map((e, i): [string, string] => {
    const at = ["envs", i];
    const t = c.table(at, e, ["name", "value"]);
    const name = c.str([...at, "name"], t.name);
    if (!/^[^=]+$/.test(name)) c.fail([...at, "name"], "invalid variable name");
    return [name, t.value === undefined ? host.env[name] ?? "" : c.str([...at, "value"], t.value)];
  });
  if (top.network !== undefined) {
    layer.network = parseNetworkPolicy(top.network, (p, m) => c.fail(["network", ...p], m));
  }
  if (top.landlock !== undefined) {
    const t = c.table(["landlock"], top.landlock, ["resources", "fs", "net"]);
    const fs = c.array(["landlock", "fs"], t.fs, "an array of tables").map((r, i) => {
      // 1.x's fixtures also spell access as perm.
      const e = c.table(["landlock", "fs", i], r, ["path", "access", "perm"]);
      if (e.perm !== undefined && e.access !== undefined) {
        c.fail(["landlock", "fs", i, "perm"], "give access or perm, not both");
      }
      return e.perm === undefined ? e : { path: e.path, access: e.perm };
    });
    layer.landlock = {
      resources: c.array(["landlock", "resources"], t.resources, "an array of tables"),
      fs,
      net: c.array(["landlock", "net"], t.net, "an array of tables"),
    };
    parseLandlockPolicy(layer.landlock, (p, m) => c.fail(["landlock", ...p], m)); // this file's own errors, located
  }
  if (top.rootdir !== undefined) {
    const t = c.table(["rootdir"], top.rootdir, ["path", "rw"]);
    layer.rootdir = {
      path: absolute(c.str(["rootdir", "path"], t.path), host.cwd),
      rw: c.bool(["rootdir", "rw"], t.rw, false),
    };
  }
  layer.uidMaps = idMaps(c, "uidmaps", top.uidmaps, host.uid);
  layer.gidMaps = idMaps(c, "gidmaps", top.gidmaps, host.gid);
  for (const [key, id] of [["uidmap", host.uid], ["gidmap", host.gid]] as const) {
    if (top[key] === undefined) continue;
    if (top[`${key}s`] !== undefined) c.fail([key], `give ${key} or ${key}s, not both`);
    const t = c.table([key], top[key], ["container_id"]);
    const entry = { container: c.int([key, "container_id"], t.container_id, 0, MAX_ID), host: id, count: 1 };
    if (key === "uidmap") layer.uidMaps = [entry];
    else layer.gidMaps = [entry];
  }
  if (top.hostname !== undefined) {
    const h = c.str(["hostname"], top.hostname);
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(h)) {
      c.fail(["hostname"], "expected 1 to 63 letters, digits, '.' or '-'");
    }
    layer.hostname = h;
  }
  c.array(["limits"], top.limits, "an array of tables").forEach((l, i) => {
    const at = ["limits", i];
    const t = c.table(at, l, ["type", "value"]);
    const type = c.str([...at, "type"], t.type);
    if (type !== "walltime" && !RLIMIT_NAMES.includes(type as RlimitName)) {
      c.fail(
        [...at, "type"],
        `expected one of ${[...RLIMIT_NAMES, "walltime"].join(", ")}, got ${JSON.stringify(type)}`,
      );
    }
    if (t.value === undefined) c.fail([...at, "value"], "missing (expected an integer)");
    layer.limits[type as RlimitName] = type === "walltime"
      ? c.int([...at, "value"], t.value, 1, 31_536_000)
      : c.int([...at, "value"], t.value, 0, MAX_RLIMIT);
  });
  if (top.seccomp !== undefined) {
    const t = c.table(["seccomp"], top.seccomp, ["path"]);
    if (t.path !== undefined) {
      const path = c.str(["seccomp", "path"], t.path);
      try {
        layer.seccomp = resolveSeccomp(
          path === "unconfined" || path === "podman" ? path : absolute(path, host.cwd),
          host.cwd,
        );
      } catch (e) {
        if (e instanceof UsageError) c.fail(["seccomp", "path"], e.message.replace(/^--seccomp: /, ""));
        throw e;
      }
    }
  }
  if (top.command !== undefined) {
    const t = c.table(["command"], top.command, ["cmdline", "cwd"]);
    if (t.cmdline === undefined) c.fail(["command", "cmdline"], "missing (expected an array of strings)");
    const argv = c.array(["command", "cmdline"], t.cmdline, "an array of strings").map((a, i) =>
      c.str(["command", "cmdline", i], a)
    );
    const cwd = t.cwd === undefined ? undefined : c.absPath(["command", "cwd"], t.cwd);
    if (argv.length || cwd) layer.command = { argv, cwd };
  }
  return layer;
}

async function render(source: string, file: string, host: Required<Config1xHost>): Promise<string> {
  const { hasTemplateSyntax, renderConfigTemplate, ConfigTemplateError } = await import("./template.ts");
  if (!hasTemplateSyntax(source)) return source;
  try {
    return await renderConfigTemplate(source, file.slice(file.lastIndexOf("/") + 1), {
      dir: dirname(file),
      env: host.env,
      cwd: host.cwd,
      home: host.env.HOME,
      effects: host.effects,
    });
  } catch (e) {
    if (e instanceof ConfigTemplateError) {
      throw new PolicyError(`template: ${e.message}`, { file }, { cause: e });
    }
    throw e;
  }
}

async function parseFile(
  source: string,
  file: string,
  keys: readonly string[],
  host: Required<Config1xHost>,
): Promise<Layer> {
  const text = await render(source, file, host);
  const raw = parsePolicyToml(text, file);
  return parseLayer(new PolicyCursor(file, text), raw, keys, host);
}

/** The last mount on each target wins; the others are dropped. */
function lastMountWins(mounts: PolicyMount[]): PolicyMount[] {
  const key = (m: PolicyMount) => m.target.replace(/\/+$/, "") || "/";
  const last = new Map(mounts.map((m, i) => [key(m), i]));
  return mounts.filter((m, i) => last.get(key(m)) === i);
}

/**
 * Parses a 1.x config. `file` is its absolute path: `@include`s and
 * `__dir__` are relative to its directory. An included file may have only
 * `namespaces`, `mounts`, `filesystem`, `envs`, `network` and `landlock`
 * (as in 1.x); lists are concatenated in include order with the including
 * file's last, a later mount on the same destination replaces an earlier
 * one, and the last `network` wins. Errors are {@link PolicyError}s
 * naming file, line, column and key.
 *
 * @example
 * ```ts
 * import { parseConfig1x } from "./config.ts";
 * const policy = await parseConfig1x(
 *   'namespaces = [{ type = "uts" }]\nhostname = "box"\nmounts = [{ source = "/usr" }]\n',
 *   "/etc/hakoniwa/box.toml",
 * );
 * console.log(policy.hostname, policy.shareUts, policy.mounts[0].target); // "box" false "/usr"
 * ```
 */
export async function parseConfig1x(source: string, file: string, hostOptions: Config1xHost = {}): Promise<Policy> {
  const host: Required<Config1xHost> = {
    env: hostOptions.env ?? Deno.env.toObject(),
    cwd: hostOptions.cwd ?? Deno.cwd(),
    uid: hostOptions.uid ?? Deno.uid() ?? 0,
    gid: hostOptions.gid ?? Deno.gid() ?? 0,
    read: hostOptions.read ?? ((p) => readHostTextSync(p)),
    effects: hostOptions.effects ?? true,
  };
  const path = absolute(file, host.cwd);
  const own = await parseFile(source, path, CONFIG_1X_KEYS, host);
  const layers: Layer[] = [];
  const filesRead: string[] = [];
  for (const inc of own.includes) {
    const incPath = absolute(inc.path, dirname(path));
    let body: string;
    try {
      body = host.read(incPath);
    } catch (e) {
      throw new PolicyError(`cannot read ${incPath}: ${e instanceof Error ? e.message : e}`, {
        file: path,
        key: `@include[${inc.at[1]}]`,
      }, { cause: e });
    }
    filesRead.push(incPath);
    layers.push(await parseFile(body, incPath, INCLUDE_1X_KEYS, host));
  }
  layers.push(own);
  filesRead.push(path);

  const all = <K extends keyof Layer>(k: K) => layers.flatMap((l) => l[k] as unknown[]);
  const ns = new Map<Ns, boolean>();
  for (const n of all("namespaces") as Layer["namespaces"]) ns.set(n.type, n.share);
  const isNew = (t: Ns) => ns.get(t) === false;
  const network = layers.map((l) => l.network).filter((n) => n !== undefined).at(-1);
  const landlocks = layers.map((l) => l.landlock).filter((l) => l !== undefined);
  const landlock = landlocks.length
    ? parseLandlockPolicy({
      resources: landlocks.flatMap((l) => l.resources),
      fs: landlocks.flatMap((l) => l.fs),
      net: landlocks.flatMap((l) => l.net),
    }, (p, m) => {
      throw new PolicyError(m, { file: path, key: ["landlock", ...p].join(".") });
    })
    : undefined;
  const env: Record<string, string> = {};
  for (const [k, v] of all("envs") as [string, string][]) env[k] = v;

  return {
    file: path,
    filesRead,
    mountNewTmpfs: false,
    mountNewDevfs: false,
    mounts: lastMountWins(all("mounts") as PolicyMount[]),
    files: all("files") as Policy["files"],
    dirs: all("dirs") as Policy["dirs"],
    symlinks: all("symlinks") as Policy["symlinks"],
    env,
    limits: own.limits,
    hostname: own.hostname,
    shareNet: network ? network.mode === "host" : !isNew("network"),
    // A hostname needs its own uts namespace (1.x: --hostname implies --unshare-uts).
    shareUts: own.hostname === undefined && !isNew("uts"),
    shareIpc: !isNew("ipc"),
    shareCgroup: !isNew("cgroup"),
    allowNewPrivs: false,
    rootdir: own.rootdir,
    uidMaps: own.uidMaps ?? [],
    gidMaps: own.gidMaps ?? [],
    command: own.command,
    landlock,
    network: network?.mode === "host" ? undefined : network,
    seccomp: own.seccomp,
    sections: { "hakoniwa-1.x": { config: path } },
  };
}

/**
 * Reads a 1.x config file (`hakoniwa run -c FILE`) into a {@link Policy}:
 * the hook the CLI calls for `-c/--config`. The result stands alone: it is
 * not laid over the embedded KISS policy. A file that cannot be read is a
 * `UsageError` naming `--config`.
 *
 * @example
 * ```ts ignore
 * import { containerFromPolicy } from "jsr:@hakoniwa/cli";
 * const policy = await loadConfig1x("./hakoniwa.d/firefox.toml");
 * const container = containerFromPolicy(policy);
 * ```
 */
export async function loadConfig1x(path: string, host: Config1xHost = {}): Promise<Policy> {
  const cwd = host.cwd ?? Deno.cwd();
  const abs = absolute(path, cwd);
  let text: string;
  try {
    text = host.read ? host.read(abs) : await readHostText(abs);
  } catch (e) {
    throw new UsageError(`--config: cannot read ${path}: ${fileErrorText(e)}`, "--config", { cause: e });
  }
  return parseConfig1x(text, abs, { ...host, cwd });
}

/**
 * Whether a policy came from a 1.x config ({@link loadConfig1x}), so the
 * caller can keep 1.x's defaults for what flags leave unset.
 *
 * @example
 * ```ts
 * import { isConfig1x, parseConfig1x } from "./config.ts";
 * console.log(isConfig1x(await parseConfig1x("", "/c.toml"))); // true
 * ```
 */
export function isConfig1x(policy: Policy): boolean {
  return "hakoniwa-1.x" in policy.sections;
}
