// `npm run compile` (scripts/compile.ts) builds a standalone binary that carries the native core. deno compile needs
// denort, downloaded from dl.deno.land on first use (or DENORT_BIN): where it cannot be had, the test is skipped and
// says why.
import assert from "node:assert/strict";
import { ROOT, SKIP_REASON, tempDir, WHO } from "./helpers.ts";

const NO_DENORT = 3; // scripts/compile.ts's exit status when denort cannot be had
const dec = new TextDecoder();

const outDir = await tempDir();
const binary = `${outDir}/hakoniwa`;
const built = SKIP_REASON ? null : await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `${ROOT}/scripts/compile.ts`, "--output", binary],
  cwd: ROOT,
  stdout: "piped",
  stderr: "piped",
}).output();
const skip = SKIP_REASON ??
  (built!.code === NO_DENORT
    ? `deno compile cannot get denort (downloaded from dl.deno.land, or DENORT_BIN): ${
      dec.decode(built!.stderr).trim().split("\n").pop()
    }`
    : null);
if (skip) {
  console.log(`skipping the compiled binary test: ${skip}`);
  await Deno.remove(outDir, { recursive: true });
}

Deno.test({
  name: `npm run compile: the standalone binary runs a sandbox on its embedded core [${WHO}]`,
  ignore: skip !== null,
  fn: async () => {
    try {
      assert.equal(built!.code, 0, dec.decode(built!.stderr));
      const home = `${outDir}/home`;
      await Deno.mkdir(home);
      const out = await new Deno.Command(binary, {
        args: ["run", "--", "/bin/sh", "-c", "echo ok"],
        cwd: outDir,
        env: { HOME: home, XDG_CACHE_HOME: "", HAKONIWA_NATIVE_PATH: "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, dec.decode(out.stderr));
      assert.equal(dec.decode(out.stdout), "ok\n");
      assert.ok([...Deno.readDirSync(`${home}/.cache/hakoniwa`)].some((e) => e.name.startsWith("libhakoniwa-")));
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});
