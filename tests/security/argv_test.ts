// Class: argv confusion: options after `--`, arguments joined into a shell line.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, tempDir } from "../helpers.ts";
import { policies } from "./probe.ts";

sandboxTest("argv: everything after -- is the command verbatim; nothing is a shell line", async () => {
  const dir = await tempDir();
  try {
    for (const p of await policies()) {
      const tricky = ["a b", "$(touch /w/x)", "`touch /w/y`", "; touch /w/z", "--rw-bind", "/:/", "'\"\\", "*", ""];
      const r = await hakoniwa(["run", "--rw-bind", `${dir}:/w`, ...p.flags, "--", "printf", "[%s]\\n", ...tricky]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, tricky.map((t) => `[${t}]\n`).join(""));
      // An option-looking command is a command, not an option.
      const opt = await hakoniwa(["run", ...p.flags, "--", "--rw-bind", "/", "--", "true"]);
      assert.equal(opt.code, 125, opt.stderr);
      assert.match(opt.stderr, /execve: .*--rw-bind/);
      assert.deepEqual([...Deno.readDirSync(dir)], [], `${p.name}: a shell interpreted the arguments`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
