// Unit tests of the logging facade: the default level loads nothing and writes warnings in the seed's format.
import assert from "node:assert/strict";
import { formatLine, logger, resetLogging, setupLogging } from "./log.ts";

async function stderrOf(fn: () => Promise<void> | void): Promise<string> {
  const chunks: Uint8Array[] = [];
  const original = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (p: Uint8Array) => (chunks.push(p.slice()), p.length);
  try {
    await fn();
  } finally {
    Deno.stderr.writeSync = original;
  }
  return chunks.map((c) => new TextDecoder().decode(c)).join("");
}

Deno.test("formatLine: the seed's line format", () => {
  const line = formatLine({ timestamp: 0, level: "warning", category: ["hakoniwa", "executor"], message: "m {x}" });
  assert.equal(line, "[1970-01-01T00:00:00Z WARNING hakoniwa::executor] m {x}\n");
});

Deno.test("logging: quiet before setup, warnings only by default, info and debug when asked", async () => {
  const log = logger("executor::t");
  try {
    assert.equal(await stderrOf(() => log.warn("before")), "");
    const warn = await stderrOf(async () => {
      await setupLogging("warning");
      log.info("hidden");
      log.warn("shown");
    });
    assert.match(warn, /^\[\S+Z WARNING hakoniwa::executor::t\] shown\n$/);
    const debug = await stderrOf(async () => {
      await setupLogging("debug");
      log.debug("d {braces}");
      log.info("i");
    });
    assert.match(debug, /DEBUG hakoniwa::executor::t\] d \{braces\}\n.*INFO hakoniwa::executor::t\] i\n$/s);
    const info = await stderrOf(async () => {
      await setupLogging("info");
      log.debug("no");
      log.info("yes");
    });
    assert.match(info, /INFO hakoniwa::executor::t\] yes\n$/);
    assert.doesNotMatch(info, /no/);
  } finally {
    await resetLogging();
  }
});
