// Class: keystrokes pushed into the caller's terminal (TIOCSTI, TIOCLINUX, high request bits).
import assert from "node:assert/strict";
import { cliArgv, sandboxTest } from "../helpers.ts";
import { policies, probe, probesDir } from "./probe.ts";

sandboxTest("terminal: TIOCSTI/TIOCLINUX from inside fail on every fd, with the caller's pty as stdio", async () => {
  const bin = await probe("tty");
  const dir = await probesDir();
  for (const p of await policies()) {
    // script(1) gives the launcher a pty as controlling terminal, like an interactive shell.
    const cli = [...cliArgv(), "run", "--ro-bind", `${dir}:/probe`];
    const line = [...cli, ...p.flags, "--", bin].map((a) => `'${a}'`).join(" ");
    const out = await new Deno.Command("script", {
      args: ["-qec", `${line}; echo "launcher-sid=$(ps -o sid= $$)"`, "/dev/null"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `${p.name}: a keystroke was pushed:\n${text}`);
    assert.match(text, /sid=\d+ /, text);
    assert.doesNotMatch(text, /-> 0\b/, `${p.name}: an ioctl succeeded\n${text}`);
  }
});

sandboxTest(
  "terminal: with stdin not a terminal but stdout one, the caller's terminal modes cannot be changed",
  async () => {
    // script(1) gives the launcher a pty as stdout; stdin is /dev/null. `stty -echo <&1` inside must reach only
    // the sandbox's own pty, never the caller's.
    const line = [...cliArgv(), "run", "--", "/bin/sh", "-c", "stty -echo <&1; stty raw <&2; echo ran"].map((a) =>
      `'${a}'`
    ).join(" ");
    const out = await new Deno.Command("script", {
      args: [
        "-qec",
        `${line} </dev/null; echo "after: $(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(echo|icanon)' | tr '\\n' ' ')"`,
        "/dev/null",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /ran/, text);
    assert.match(text, /after: /, text);
    assert.doesNotMatch(text, /after: .*-(echo|icanon)/, `the caller's terminal modes changed:\n${text}`);
    assert.match(text, /after: .*\becho\b/, text);
  },
);
