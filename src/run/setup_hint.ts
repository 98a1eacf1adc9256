/**
 * What a failed exec means, said in the words of the plan: the native core
 * reports `execve` with an errno and the program's path inside the
 * sandbox, which alone says neither that nothing is bound where the
 * program is searched, nor that the path is a directory, nor that Landlock
 * refused it. {@link explainSetupError} looks at the plan (and, for binds,
 * at the host path behind the sandbox path) and says so.
 *
 * @module
 */
import type { Plan } from "../plan/types.ts";
import type { Report } from "./report.ts";

const ENOENT = 2, EACCES = 13;

/** How to fix "nothing is bound": the library names its methods, the CLI its flags. */
export interface SetupRemedies {
  /** Appended after "nothing is bound at ...: ", e.g. `bind them with bindRo("/usr")`. */
  nothingBound: string;
}

/**
 * The library's remedies: {@link Container} methods and `kissContainer()`.
 *
 * @example
 * ```ts
 * import { LIBRARY_REMEDIES } from "./setup_hint.ts";
 * console.log(LIBRARY_REMEDIES.nothingBound.startsWith("bind them")); // true
 * ```
 */
export const LIBRARY_REMEDIES: SetupRemedies = {
  nothingBound: 'bind them (e.g. .bindRo("/usr").bindRo("/bin").bindRo("/lib")), ' +
    "or start from the KISS policy with kissContainer()",
};

function within(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(`${dir}/`);
}

/** Whether anything of the host's or a new filesystem lies at or above sandbox path `dir`. */
function covered(plan: Plan, dir: string): boolean {
  if (plan.root.source !== null) return true;
  return plan.mounts.some((m) => m.kind !== "readonly" && m.kind !== "file" && within(dir, m.target));
}

/** The directories a program name is looked for in: its own directory, or those of the search path. */
function searchedDirs(plan: Plan): string[] {
  if (plan.program.includes("/")) {
    const dir = plan.program.slice(0, plan.program.lastIndexOf("/")) || "/";
    return [dir.startsWith("/") ? dir : `${plan.cwd.replace(/\/$/, "")}/${dir}`];
  }
  return plan.searchPath.split(":").filter((d) => d.startsWith("/"));
}

/**
 * What sandbox path `path` is on the host, through the last mount at or
 * above it: `{ dir: true }` for a new filesystem or directory made there,
 * the host path behind a bind or the root directory, or null when unknown.
 */
function hostPathOf(plan: Plan, path: string): { dir: true } | { host: string } | null {
  for (const m of plan.mounts.toReversed()) {
    if (m.kind === "readonly" || m.kind === "symlink" || !within(path, m.target)) continue;
    if (m.kind === "bind") return { host: m.source + path.slice(m.target === "/" ? 0 : m.target.length) };
    if (path === m.target && m.kind !== "file") return { dir: true };
    return null;
  }
  return plan.root.source !== null ? { host: `${plan.root.source.replace(/\/$/, "")}${path}` } : null;
}

function isHostDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** Whether the plan's Landlock rules let `path` be executed. */
function landlockAllowsExec(plan: Plan, path: string): boolean {
  const ll = plan.landlock;
  if (!ll || !ll.restrict.includes("fs")) return true;
  return ll.paths.some((p) => p.access.includes("x") && within(path, p.path));
}

/**
 * The report with a setup error that says what the plan shows: a program
 * that was not found where nothing is bound (`remedies` says how to bind
 * it), a command that is a directory, an exec that Landlock refused.
 * Other reports are returned as they are.
 *
 * @example
 * ```ts ignore
 * const report = explainSetupError(await sandbox.finished, plan, LIBRARY_REMEDIES);
 * ```
 */
export function explainSetupError(report: Report, plan: Plan, remedies: SetupRemedies): Report {
  const e = report.error;
  if (report.status !== "SE" || !e || e.step !== "execve") return report;
  let said: string | null = null;
  if (e.errno === ENOENT) {
    const dirs = searchedDirs(plan);
    if (dirs.length && !dirs.some((d) => covered(plan, d))) {
      const where = plan.program.includes("/") ? dirs[0] : `any directory of the PATH searched (${plan.searchPath})`;
      said = `${e.message}; nothing is bound at ${where}: ${remedies.nothingBound}`;
    }
  } else if (e.errno === EACCES && plan.program.includes("/")) {
    const path = plan.program.startsWith("/") ? plan.program : `${plan.cwd.replace(/\/$/, "")}/${plan.program}`;
    const at = hostPathOf(plan, path);
    if (at && ("dir" in at || isHostDirectory(at.host))) {
      said = `execve: cannot execute the command: ${plan.program}: is a directory`;
    } else if (!landlockAllowsExec(plan, path)) {
      said = `execve: refused by Landlock (no rule allows executing beneath ${path}): ${plan.program}: ${
        e.message
          .replace(/^.*: /, "")
      }`;
    }
  } else if (e.errno === EACCES && !searchedDirs(plan).some((d) => landlockAllowsExec(plan, d))) {
    said = `execve: refused by Landlock (no rule allows executing in the PATH searched): ${plan.program}: ${
      e.message
        .replace(/^.*: /, "")
    }`;
  }
  if (said === null) return report;
  e.message = said;
  return { ...report, reason: said };
}
