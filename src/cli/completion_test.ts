import assert from "node:assert/strict";
import { completionScript, SHELLS } from "./completion.ts";

const tricky = [{
  name: "run",
  brief: "it's ‘quoted’",
  flags: [{ name: "opt", value: "X", brief: "a 'value' with [brackets]" }],
  words: "files" as const,
}];

Deno.test("every shell's script quotes briefs as that shell's strings", () => {
  assert.match(completionScript(tricky, "elvish"), /\['run' 'it''s ‘quoted’'\]/);
  assert.match(completionScript(tricky, "elvish"), /\['--opt' 'value' 'a ''value'' with \[brackets\]'\]/);
  assert.match(completionScript(tricky, "powershell"), /d = 'it''s ‘‘quoted’’'/);
  assert.match(completionScript(tricky, "fish"), /-d 'it\\'s ‘quoted’'/);
  for (const shell of SHELLS) {
    assert.match(completionScript(tricky, shell), shell === "fish" ? /-l opt/ : /--opt/, shell);
  }
});
