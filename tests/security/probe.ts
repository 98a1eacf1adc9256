/**
 * Shared pieces of the adversarial suite: small C probes built with gcc
 * into a host directory that sandboxes bind at /probe, and the two
 * policies every attack is tried under (the default one and a stronger
 * one with limits and, when the CLI has it, the strict seccomp
 * profile).
 */
import { type CliResult, hakoniwa, ROOT } from "../helpers.ts";

const built = new Map<string, Promise<string>>();
let probeDir: Promise<string> | null = null;

/** The host directory holding built probes (bound read-only at /probe). */
export function probesDir(): Promise<string> {
  probeDir ??= Deno.makeTempDir({ prefix: "hakoniwa-probes-" }).then(async (d) => {
    await Deno.chmod(d, 0o755);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(d, { recursive: true });
      } catch { /* already gone */ }
    });
    return d;
  });
  return probeDir;
}

/**
 * Builds `tests/security/probes/NAME.c` (once per process) with extra gcc
 * flags and returns the path of the binary inside the sandbox (/probe/NAME).
 */
export function probe(name: string, flags: string[] = []): Promise<string> {
  const key = [name, ...flags].join(" ");
  let p = built.get(key);
  if (!p) {
    p = (async () => {
      const dir = await probesDir();
      const out = `${dir}/${name}`;
      const r = await new Deno.Command("gcc", {
        args: ["-O1", "-Wall", "-o", out, `${ROOT}/tests/security/probes/${name}.c`, ...flags],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) throw new Error(`gcc ${name}.c failed: ${new TextDecoder().decode(r.stderr)}`);
      return `/probe/${name}`;
    })();
    built.set(key, p);
  }
  return p;
}

/** Whether the CLI offers a `--seccomp` option (the default profile of the filters work). */
export function hasSeccompFlag(): Promise<boolean> {
  seccompFlag ??= hakoniwa(["run", "--help"]).then((r) => /--seccomp\b/.test(r.stdout + r.stderr));
  return seccompFlag;
}
let seccompFlag: Promise<boolean> | null = null;

/** A policy file stronger than the default: limits, no /dev, read-only everything. */
export const STRONG_POLICY = `${ROOT}/tests/security/strong-policy.toml`;

/** The policies each attack is tried under: the default one, and the strongest one available. */
export async function policies(): Promise<{ name: string; flags: string[] }[]> {
  const strong = ["--policy-file", STRONG_POLICY];
  if (await hasSeccompFlag()) strong.push("--seccomp", "strict");
  return [{ name: "default", flags: [] }, { name: "strong", flags: strong }];
}

/** Runs a command in a sandbox with /probe bound and extra flags. */
export async function inSandbox(flags: string[], argv: string[], env?: Record<string, string>): Promise<CliResult> {
  const dir = await probesDir();
  return hakoniwa(["run", "--ro-bind", `${dir}:/probe`, ...flags, "--", ...argv], env ? { env } : {});
}

/** Parses `/proc/PID/status` text into a map. */
export function parseStatus(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}
