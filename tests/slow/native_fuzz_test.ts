// Slow suite: libFuzzer (clang) on the spec decoder for a bounded time, from the checked-in corpus.
import assert from "node:assert/strict";
import { ROOT } from "../helpers.ts";

const SLOW = Deno.env.get("HAKONIWA_SLOW") === "1";
const SECONDS = Number(Deno.env.get("HAKONIWA_FUZZ_SECONDS") ?? 180);
if (!SLOW) console.log("native_fuzz_test: libFuzzer runs only in the slow suite (npm run test:slow)");

Deno.test(
  { name: `native fuzz: libFuzzer on hk_spec_decode for ${SECONDS}s finds nothing`, ignore: !SLOW },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "hakoniwa-fuzz-" });
    try {
      const build = await new Deno.Command("clang", {
        args: [
          "-g",
          "-O1",
          "-fsanitize=fuzzer,address,undefined",
          "-fno-sanitize-recover=all",
          `-I${ROOT}/native`,
          `${ROOT}/native/fuzz/spec_fuzz.c`,
          `${ROOT}/native/spec.c`,
          "-o",
          `${dir}/fuzz`,
        ],
        stderr: "piped",
      }).output();
      assert.ok(build.success, `clang (Debian package clang) is needed: ${new TextDecoder().decode(build.stderr)}`);
      await Deno.mkdir(`${dir}/work`);
      const run = await new Deno.Command(`${dir}/fuzz`, {
        args: [
          `-max_total_time=${SECONDS}`,
          "-rss_limit_mb=1024",
          "-timeout=5",
          `-artifact_prefix=${dir}/`,
          `${dir}/work`,
          `${ROOT}/native/fuzz/corpus`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(run.stderr);
      assert.ok(run.success, text.slice(-4000));
      console.log(text.trim().split("\n").pop());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
