/**
 * hakoniwa 1.x config templates: minijinja (the real engine, from npm as
 * WebAssembly) with 1.x's functions, tests and globals. Loaded by dynamic
 * import only when a config has template syntax, so the CLI's cold start
 * never pays for it.
 *
 * Functions (all read or create host paths as the caller; with `effects`
 * false, as `explain` renders, `fs_mkdir` and `fs_touch` change nothing and
 * a warning says what a run would do):
 * `os_env(NAME)`, `fs_findup(NAME)`, `fs_glob(PATTERN)`, `fs_mkdir(PATH)`,
 * `fs_touch(PATH)`, `fs_read_link(PATH)`, `fs_xdg_user_dir(NAME)`,
 * `path_exists(PATH)`, `path_is_dir(PATH)`, `path_is_symlink(PATH)`.
 * Tests: `is dir`, `is file`, `is symlink`, `is env`. Globals: every host
 * environment variable by name, and `__dir__`, the directory of the file
 * being rendered.
 *
 * @module
 */
import { logger } from "../../common/log.ts";
import { openHostFileForWrite, readHostTextSync } from "../../native/safe_open.ts";

/** What a template sees of the host. */
export interface TemplateHost {
  /** The directory of the file being rendered (`__dir__`). */
  dir: string;
  /** The host environment (`os_env`, and one global per variable). */
  env: Record<string, string>;
  /** The directory `fs_findup` starts from. */
  cwd: string;
  /** The home directory, for `fs_xdg_user_dir`. */
  home?: string;
  /** Whether `fs_mkdir` and `fs_touch` change the host (default true); false: they log what a run would do. */
  effects?: boolean;
}

/** A template that could not be rendered; `message` says why, with 1.x's wording for function errors. */
export class ConfigTemplateError extends Error {
  /** Creates a template error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigTemplateError";
  }
}

interface MiniJinjaEnvironment {
  addGlobal(name: string, value: unknown): void;
  addTest(name: string, f: (...args: unknown[]) => boolean): void;
  renderNamedStr(name: string, source: string, ctx: unknown): string;
  free(): void;
}
interface MiniJinjaModule {
  default: () => Promise<unknown>;
  Environment: new () => MiniJinjaEnvironment;
}

let engine: Promise<MiniJinjaModule> | null = null;

/** The engine, imported and its WebAssembly instantiated once. */
function loadEngine(): Promise<MiniJinjaModule> {
  engine ??= (async () => {
    // The ESM build (the package's main entry is CommonJS). A full npm: specifier: import maps do not apply when the
    // module is served over http (JSR, a URL).
    // deno-lint-ignore no-import-prefix
    const mod = await import("npm:minijinja-js@2.11.0/dist/web/minijinja_js.js") as unknown as MiniJinjaModule;
    await mod.default();
    return mod;
  })();
  return engine;
}

/**
 * Whether `source` uses template syntax at all (`{{`, `{%`, `{#`); a
 * config without it is not rendered and the engine is never loaded.
 *
 * @example
 * ```ts
 * import { hasTemplateSyntax } from "./template.ts";
 * console.log(hasTemplateSyntax('hostname = "a"'), hasTemplateSyntax('hostname = "{{ HOST }}"')); // false true
 * ```
 */
export function hasTemplateSyntax(source: string): boolean {
  return /\{[{%#]/.test(source);
}

function stat(path: string, follow: boolean): Deno.FileInfo | null {
  try {
    return follow ? Deno.statSync(path) : Deno.lstatSync(path);
  } catch {
    return null;
  }
}

function parent(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** `fs_findup(NAME)`: the first `DIR/NAME` that exists, from `cwd` up to `/`; `""` when none. */
export function findUp(name: string, cwd: string): string {
  let dir = cwd;
  for (;;) {
    const candidate = join(dir, name);
    if (stat(candidate, true)) return candidate;
    if (dir === "/") return "";
    dir = parent(dir);
  }
}

function segmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) throw new ConfigTemplateError(`glob(${JSON.stringify(segment)}) => unclosed character class`);
      let cls = segment.slice(i + 1, end);
      if (cls.startsWith("!")) cls = "^" + cls.slice(1);
      re += `[${cls.replaceAll("\\", "\\\\")}]`;
      i = end;
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function list(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * `fs_glob(PATTERN)`: the paths matching a shell pattern (`*`, `?`,
 * `[abc]`, `[!abc]`, and `**` for any depth), sorted, hidden entries only
 * when the pattern segment starts with a dot.
 *
 * @example
 * ```ts
 * import { glob } from "./template.ts";
 * console.log(glob("/etc/host*").includes("/etc/hosts")); // true
 * ```
 */
export function glob(pattern: string, cwd = Deno.cwd()): string[] {
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s) => s !== "");
  let found: string[] = [absolute ? "/" : cwd];
  for (const [i, seg] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    if (seg === "**") {
      const walk = (dir: string) => {
        next.push(dir);
        for (const name of list(dir)) {
          if (name.startsWith(".")) continue;
          const p = join(dir, name);
          if (stat(p, false)?.isDirectory) walk(p);
        }
      };
      found.forEach(walk);
    } else if (!/[*?[]/.test(seg)) {
      for (const dir of found) {
        const p = join(dir, seg);
        if (stat(p, false) && (last || stat(p, true)?.isDirectory)) next.push(p);
      }
    } else {
      const re = segmentRegExp(seg);
      for (const dir of found) {
        for (const name of list(dir)) {
          if (name.startsWith(".") && !seg.startsWith(".")) continue;
          if (!re.test(name)) continue;
          const p = join(dir, name);
          if (last || stat(p, true)?.isDirectory) next.push(p);
        }
      }
    }
    found = [...new Set(next)];
  }
  const out = absolute ? found : found.map((p) => p.slice(cwd.length).replace(/^\//, "") || ".");
  return out.sort();
}

const XDG_FOLDERS: Record<string, string> = {
  DESKTOP: "Desktop",
  DOCUMENTS: "Documents",
  DOWNLOAD: "Downloads",
  MUSIC: "Music",
  PICTURES: "Pictures",
  PUBLICSHARE: "Public",
  TEMPLATES: "Templates",
  VIDEOS: "Videos",
  CODE: "Code",
};

/**
 * `fs_xdg_user_dir(NAME)`: `XDG_NAME_DIR` from `user-dirs.dirs` (in
 * `$XDG_CONFIG_HOME` or `~/.config`), else the usual folder in the home
 * directory (`DOWNLOAD` -> `~/Downloads`; other names: capitalized, plural).
 *
 * @example
 * ```ts
 * import { xdgUserDir } from "./template.ts";
 * console.log(xdgUserDir("MUSIC", { HOME: "/nonexistent" }, "/nonexistent")); // "/nonexistent/Music"
 * ```
 */
export function xdgUserDir(name: string, env: Record<string, string>, home = env.HOME): string {
  if (!home) {
    throw new ConfigTemplateError(`xdg_user_dir(${JSON.stringify(name)}) => unable to find the home directory`);
  }
  const config = env.XDG_CONFIG_HOME || `${home}/.config`;
  let text = "";
  try {
    text = readHostTextSync(`${config}/user-dirs.dirs`);
  } catch { /* absent or not a file: the defaults */ }
  for (const line of text.split("\n")) {
    const m = /^\s*XDG_([A-Z0-9_]+)_DIR\s*=\s*"(.*)"\s*$/.exec(line);
    if (!m || m[1] !== name) continue;
    const value = m[2].replace(/^\$HOME(?=\/|$)/, home);
    if (value.startsWith("/")) return value;
  }
  const fallback = XDG_FOLDERS[name] ??
    (name.charAt(0).toUpperCase() + name.slice(1).toLowerCase()).replace(/([^s])$/, "$1s");
  return `${home}/${fallback}`;
}

/**
 * Renders one config file's text with 1.x's template environment. A
 * function that fails (a missing link for `fs_read_link`, say) fails the
 * render with 1.x's message (`read_link("/x") => ...`).
 *
 * @example
 * ```ts
 * import { renderConfigTemplate } from "./template.ts";
 * const out = await renderConfigTemplate('a = "{{ os_env("USER") }}" # {{ __dir__ }}', "c.toml", {
 *   dir: "/etc/hakoniwa", env: { USER: "alice" }, cwd: "/",
 * });
 * console.log(out); // 'a = "alice" # /etc/hakoniwa'
 * ```
 */
export async function renderConfigTemplate(source: string, name: string, host: TemplateHost): Promise<string> {
  const mj = await loadEngine();
  const env = new mj.Environment();
  // A JavaScript exception inside the engine aborts its WebAssembly instance, so functions record their first error
  // and return an empty value; the render then fails with it.
  let failure: Error | null = null;
  const guard = <A extends unknown[], R>(fname: string, f: (...args: A) => R, empty: R) => (...args: A): R => {
    if (failure) return empty;
    try {
      return f(...args);
    } catch (e) {
      const why = e instanceof ConfigTemplateError
        ? e.message
        : `${fname}(${JSON.stringify(args[0])}) => ${e instanceof Error ? e.message : e}`;
      failure = new ConfigTemplateError(why, { cause: e });
      return empty;
    }
  };
  // Whether a function that changes the host may act: not while explaining, which says what a run would do.
  const effect = (call: string): boolean => {
    if (host.effects !== false) return true;
    logger("config").warn(`${name}: ${call} not run: explain changes nothing on the host (a run does it)`);
    return false;
  };
  const arg = (fname: string, v: unknown): string => {
    if (typeof v !== "string") throw new ConfigTemplateError(`${fname}: expected a string argument, got ${typeof v}`);
    return v;
  };
  try {
    for (const [k, v] of Object.entries(host.env)) {
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env.addGlobal(k, v);
    }
    const fns: Record<string, [(v: unknown) => unknown, unknown]> = {
      os_env: [(v) => host.env[arg("os_env", v)] ?? "", ""],
      fs_findup: [(v) => findUp(arg("findup", v), host.cwd), ""],
      fs_glob: [(v) => glob(arg("glob", v), host.cwd), []],
      fs_mkdir: [(v) => {
        if (!effect(`fs_mkdir(${JSON.stringify(arg("mkdir", v))})`)) return "";
        Deno.mkdirSync(arg("mkdir", v), { recursive: true });
        return "";
      }, ""],
      fs_touch: [(v) => {
        if (!effect(`fs_touch(${JSON.stringify(arg("touch", v))})`)) return "";
        // Opened as every file the CLI writes is (never through a link at its name, a FIFO an error, not a hang).
        openHostFileForWrite(arg("touch", v)).close();
        return "";
      }, ""],
      fs_read_link: [(v) => Deno.readLinkSync(arg("read_link", v)), ""],
      fs_xdg_user_dir: [(v) => xdgUserDir(arg("xdg_user_dir", v), host.env, host.home), ""],
      path_exists: [(v) => stat(arg("path_exists", v), true) !== null, false],
      path_is_dir: [(v) => stat(arg("path_is_dir", v), true)?.isDirectory === true, false],
      path_is_symlink: [(v) => stat(arg("path_is_symlink", v), false)?.isSymlink === true, false],
    };
    for (const [fname, [f, empty]] of Object.entries(fns)) {
      env.addGlobal(fname, guard(fname.replace(/^(fs|os|path)_/, ""), f, empty));
    }
    const test = (f: (p: string) => boolean) => guard("test", (v: unknown) => typeof v === "string" && f(v), false);
    env.addTest("dir", test((p) => stat(p, true)?.isDirectory === true));
    env.addTest("file", test((p) => stat(p, true)?.isFile === true));
    env.addTest("symlink", test((p) => stat(p, false)?.isSymlink === true));
    env.addTest("env", test((n) => n in host.env));
    let out: string;
    try {
      out = env.renderNamedStr(name, source, { __dir__: host.dir });
    } catch (e) {
      throw new ConfigTemplateError(e instanceof Error ? e.message : String(e), { cause: e });
    }
    if (failure) throw failure;
    return out;
  } finally {
    env.free();
  }
}
