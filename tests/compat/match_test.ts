import assert from "node:assert/strict";
import { outputMatches } from "./match.ts";

const vars = { cwd: "/work/x" };

Deno.test("match: exact lines, trailing newlines ignored", () => {
  assert(outputMatches("a\nb\n\n", "a\nb\n", vars));
  assert(!outputMatches("a\nb\n", "a\nc\n", vars));
  assert(!outputMatches("a\n", "a\nb\n", vars));
});

Deno.test("match: [..] within a line, ... across lines", () => {
  assert(
    outputMatches("TARGET [..] OPTIONS\n/m [..] ro,[..]\n", "TARGET SOURCE OPTIONS\n/m /dev/x ro,relatime\n", vars),
  );
  assert(!outputMatches("/m [..] ro,[..]\n", "/m /dev/x rw,relatime\n", vars));
  assert(outputMatches("...\nX=1\n...\n", "A=0\nX=1\nZ=2\n", vars));
  assert(outputMatches("...\nX=1\n...\n", "X=1\n", vars));
  assert(!outputMatches("...\nX=1\n...\n", "X=2\n", vars));
});

Deno.test("match: [CWD] and empty output", () => {
  assert(outputMatches("[CWD]\n", "/work/x\n", vars));
  assert(outputMatches("", "", vars));
  assert(!outputMatches("", "noise\n", vars));
  assert(outputMatches("...\n", "", vars));
});
