// Class: signals: Ctrl-C/SIGTERM ignored, orphans survive, the sandbox outlives its parent.
import assert from "node:assert/strict";
import { cliArgv, processesWith, sandboxTest, waitFor } from "../helpers.ts";
import { policies } from "./probe.ts";

function launch(flags: string[], script: string) {
  return new Deno.Command(Deno.execPath(), {
    args: [...cliArgv().slice(1), "run", ...flags, "--", "/bin/sh", "-c", script],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

sandboxTest(
  "signals: SIGINT/SIGTERM reach the payload, orphans die with it, and it dies with the launcher",
  async () => {
    for (const p of await policies()) {
      for (const sig of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
        const tag = String(40000 + Math.floor(Math.random() * 9999));
        // An orphan that ignores the signal and a payload that is PID 2 of the namespace.
        const child = launch(p.flags, `(trap '' INT TERM; exec sleep ${tag}1) & sleep ${tag}2`);
        const up = await waitFor(() =>
          processesWith(`sleep ${tag}1`).length === 1 && processesWith(`sleep ${tag}2`).length === 1
        );
        assert.ok(up, `${p.name}: the payload did not start`);
        child.kill(sig);
        const st = await child.status;
        if (sig !== "SIGKILL") assert.equal(st.code, sig === "SIGINT" ? 130 : 143, `${p.name} ${sig}`);
        assert.ok(
          await waitFor(() => processesWith(`sleep ${tag}1`).length + processesWith(`sleep ${tag}2`).length === 0),
          `${p.name}: something survived ${sig} of the launcher`,
        );
      }
    }
  },
);
