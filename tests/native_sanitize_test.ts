// The spec decoder under ASan and UBSan: the checked-in corpus (real specs from encodeSpec) and random
// mutations of it. The slow suite runs libFuzzer on the same harness (tests/slow/native_fuzz_test.ts).
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

const SLOW = Deno.env.get("HAKONIWA_SLOW") === "1";

Deno.test("native: hk_spec_decode survives the corpus and mutations under ASan+UBSan", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-asan-" });
  try {
    const build = await new Deno.Command("gcc", {
      args: [
        "-std=gnu11",
        "-g",
        "-O1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-DHK_FUZZ_DRIVER",
        `-I${ROOT}/native`,
        `${ROOT}/native/fuzz/spec_fuzz.c`,
        `${ROOT}/native/spec.c`,
        "-o",
        `${dir}/driver`,
      ],
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const corpus = [...Deno.readDirSync(`${ROOT}/native/fuzz/corpus`)].map((e) =>
      `${ROOT}/native/fuzz/corpus/${e.name}`
    );
    assert.ok(corpus.length >= 4);
    const run = await new Deno.Command(`${dir}/driver`, {
      args: corpus,
      env: { HK_FUZZ_ROUNDS: SLOW ? "5000000" : "100000" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    assert.ok(run.success, text.slice(-3000));
    assert.match(text, /decoded \d+ seeds and \d+ mutations/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
