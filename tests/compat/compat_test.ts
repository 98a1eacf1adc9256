/**
 * hakoniwa 1.x's CLI cases (its trycmd tests, ported as data in cases/*.json)
 * run against this checkout's CLI, as root and rootless. A case passes, or
 * is listed in docs/compat.md with its reason and reported as ignored with
 * that reason.
 */
import assert from "node:assert/strict";
import { cliArgv, IS_ROOT, ROOT, SKIP_REASON, WHO } from "../helpers.ts";
import { outputMatches } from "./match.ts";
import { buildRootfs } from "../rootfs.ts";

interface Case {
  id: string;
  args: string[];
  code: number;
  output: string;
  env?: Record<string, string | null>;
}
interface CaseFile {
  source: string;
  cases: Case[];
}

const HERE = `${ROOT}/tests/compat`;

/** Cases listed in docs/compat.md: `| \`id\` | both/root/rootless | reason |`. */
export function listedCases(markdown: string): Map<string, { when: string; reason: string }> {
  const out = new Map<string, { when: string; reason: string }>();
  for (const line of markdown.split("\n")) {
    const m = /^\| `([^`]+)` +\| (both|root|rootless) +\| (.+?) +\|$/.exec(line);
    if (m) out.set(`${m[1]}@${m[2]}`, { when: m[2], reason: m[3] });
  }
  return out;
}

const files: [string, CaseFile][] = [];
for (const e of [...Deno.readDirSync(`${HERE}/cases`)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (e.name.endsWith(".json")) files.push([e.name, JSON.parse(Deno.readTextFileSync(`${HERE}/cases/${e.name}`))]);
}
const listed = listedCases(Deno.readTextFileSync(`${ROOT}/docs/compat.md`));
const allIds = files.flatMap(([, f]) => f.cases.map((c) => c.id));

function reasonFor(id: string): string | undefined {
  return (listed.get(`${id}@both`) ?? listed.get(`${id}@${WHO}`))?.reason;
}

/** As root, `--userns=auto` maps 1.. to root's own /etc/subuid range, which scripts/run_tests.ts grants. */
function rootHasSubordinateIds(): boolean {
  const granted = (file: string) => {
    try {
      return Deno.readTextFileSync(file).split("\n").some((l) => /^(root|0):\d+:\d+$/.test(l.trim()));
    } catch {
      return false;
    }
  };
  return granted("/etc/subuid") && granted("/etc/subgid");
}

/** A working directory laid out like 1.x's hakoniwa-cli/: ./tests/fixtures/{config,scripts,rootfs}. */
function workspace(): string {
  const ws = Deno.makeTempDirSync({ prefix: "hakoniwa-compat-" });
  const copy = (from: string, to: string) => {
    for (const e of Deno.readDirSync(from)) {
      if (e.isDirectory) {
        Deno.mkdirSync(`${to}/${e.name}`, { recursive: true });
        copy(`${from}/${e.name}`, `${to}/${e.name}`);
      } else Deno.copyFileSync(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  };
  Deno.mkdirSync(`${ws}/tests/fixtures`, { recursive: true });
  copy(`${HERE}/fixtures`, `${ws}/tests/fixtures`);
  buildRootfs(`${ws}/tests/fixtures/rootfs`);
  Deno.writeTextFileSync(`${ws}/Cargo.toml`, "");
  return ws;
}

let ws: string | null = null;
let passed = 0;
let ran = 0;

async function runCase(c: Case, dir: string): Promise<{ code: number; output: string }> {
  const argv = cliArgv(...c.args);
  const env = Deno.env.toObject();
  for (const [k, v] of Object.entries(c.env ?? {})) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$@" 2>&1', "sh", ...argv],
    cwd: dir,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, output: new TextDecoder().decode(out.stdout) };
}

Deno.test("compat: every case listed in docs/compat.md exists", () => {
  const unknown = [...listed.keys()].map((k) => k.slice(0, k.lastIndexOf("@"))).filter((id) => !allIds.includes(id));
  assert.deepEqual(unknown, []);
  assert.equal(new Set(allIds).size, allIds.length, "case ids are unique");
});

for (const [name, file] of files) {
  for (const c of file.cases) {
    const reason = reasonFor(c.id);
    Deno.test({
      name: `compat ${name.replace(/\.json$/, "")}: ${c.id} [${WHO}]${reason ? ` — listed: ${reason}` : ""}`,
      ignore: reason !== undefined || SKIP_REASON !== null,
      sanitizeResources: true,
      fn: async () => {
        ws ??= workspace();
        ran++;
        if (IS_ROOT && c.args.includes("--userns=auto") && c.args.includes("--user")) {
          assert(
            rootHasSubordinateIds(),
            "root has no /etc/subuid and /etc/subgid range for --userns=auto to map the groups into: " +
              "scripts/run_tests.ts grants one (usermod --add-subuids/--add-subgids)",
          );
        }
        const got = await runCase(c, ws);
        const ok = got.code === c.code && outputMatches(c.output, got.output, { cwd: ws });
        assert(
          ok,
          `1.x case ${c.id} (${file.source}): hakoniwa ${c.args.join(" ")}\n` +
            `expected exit ${c.code} and:\n${c.output}\ngot exit ${got.code} and:\n${got.output}`,
        );
        passed++;
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  if (ws) Deno.removeSync(ws, { recursive: true });
  const total = allIds.length;
  console.log(
    `compat [${WHO}${IS_ROOT ? "" : ""}]: ${passed} of ${total} 1.x cases passed, ${ran - passed} failed, ${
      total - ran
    } listed in docs/compat.md`,
  );
});
