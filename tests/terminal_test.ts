/**
 * The sandbox's own terminal, driven through a real terminal: a tmux pane
 * whose shell runs the CLI. Screen contents are polled with a timeout.
 */
import assert from "node:assert/strict";
import { CLI_SH, hakoniwa, processesWith, sandboxTest, tempDir, waitFor } from "./helpers.ts";

const TIMEOUT_MS = 30_000;
const CLI = CLI_SH;

/** A detached tmux server with one 100x30 pane running an interactive bash whose prompt is `outer$ `. */
class Pane {
  readonly dir: string;
  #sock: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.#sock = `${dir}/tmux.sock`;
  }

  /** `shell` runs in the pane; the default is bash with line editing (as a user has it). */
  static async start(shell = ["bash", "--norc", "--noprofile", "-i"]): Promise<Pane> {
    const pane = new Pane(await tempDir());
    const size = ["-x", "100", "-y", "30"];
    await pane.tmux("-f", "/dev/null", "new-session", "-d", ...size, "-c", pane.dir, "env", "PS1=outer$ ", ...shell);
    await pane.waitScreen(/outer\$ ?$/m);
    return pane;
  }

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", { args: ["-S", this.#sock, ...args], stdout: "piped", stderr: "piped" })
      .output();
    const dec = new TextDecoder();
    if (!out.success) throw new Error(`tmux ${args.join(" ")}: ${dec.decode(out.stderr)}`);
    return dec.decode(out.stdout);
  }

  /** Types `text` literally, then Enter. */
  async type(text: string): Promise<void> {
    await this.tmux("send-keys", "-t", "0", "-l", text);
    await this.tmux("send-keys", "-t", "0", "Enter");
  }

  /** The pane's screen and history, lines joined where they wrapped. */
  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p", "-J", "-t", "0", "-S", "-500");
  }

  /** Waits until the screen matches `re`; fails with the screen when it does not in time. */
  async waitScreen(re: RegExp): Promise<string> {
    let last = "";
    const ok = await waitFor(async () => re.test(last = await this.screen()), TIMEOUT_MS);
    assert.ok(ok, `screen never matched ${re}:\n${last}`);
    return last;
  }

  /** The mode of the pane's terminal as `stty -g` prints it, read from outside. */
  async mode(): Promise<string> {
    const tty = (await this.tmux("display-message", "-p", "-t", "0", "#{pane_tty}")).trim();
    const out = await new Deno.Command("stty", { args: ["-F", tty, "-g"], stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  }

  async close(): Promise<void> {
    await this.tmux("kill-server").catch(() => {});
    await Deno.remove(this.dir, { recursive: true });
  }
}

async function withPane(fn: (pane: Pane) => Promise<void>, shell?: string[]): Promise<void> {
  const pane = await Pane.start(shell);
  try {
    await fn(pane);
  } finally {
    await pane.close();
  }
}

sandboxTest("an interactive bash gets job control on its own terminal", () =>
  withPane(async (pane) => {
    await pane.type(`${CLI} run --setenv 'PS1=inner$ ' -- /bin/bash --norc --noprofile -i; echo "outer: $?"`);
    await pane.waitScreen(/^inner\$ ?$/m);
    await pane.type("sleep 3071 &");
    await pane.waitScreen(/^\[1\] \d+$/m);
    await pane.type("jobs");
    await pane.waitScreen(/^\[1\]\+\s+Running\s+sleep 3071 &$/m);
    // The shell is a job of the init's session on the sandbox's own terminal: its group is the foreground one.
    await pane.type(`echo "tty=$(tty)"`);
    // Its name is /dev/console, as 1.x names it: /dev/pts is the sandbox's own devpts instance.
    await pane.waitScreen(/^tty=\/dev\/console$/m);
    // A program opens a pty of its own on that terminal too (the devfs's devpts).
    await pane.type(`python3 -c "import os, pty; m, s = pty.openpty(); print('pty=' + os.ttyname(s))"`);
    await pane.waitScreen(/^pty=\/dev\/pts\/0$/m);
    await pane.type(`[ -t 0 ] && echo "stat=$(cut -d' ' -f5,6,7,8 /proc/$$/stat) pid=$$"`);
    const stat = /^stat=(\d+) (\d+) (\d+) (\d+) pid=(\d+)$/m.exec(await pane.waitScreen(/^stat=[\d ]+ pid=\d+$/m))!;
    assert.equal(stat[2], "1", "the session is the sandbox's init's");
    assert.notEqual(stat[3], "0", "bash has a controlling terminal");
    assert.equal(stat[4], stat[1], "bash's process group is the terminal's foreground group");
    await pane.type("fg");
    await pane.waitScreen(/fg\nsleep 3071$/m);
    // Ctrl-C only once the job owns the terminal: its process group is the pty's foreground group.
    const inForeground = () =>
      processesWith("sleep 3071").some((pid) => {
        const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
        return f[2] === f[5]; // pgrp, tpgid
      });
    assert.ok(await waitFor(inForeground, TIMEOUT_MS), "fg gave the job the terminal");
    await pane.tmux("send-keys", "-t", "0", "C-c");
    await pane.waitScreen(/^sleep 3071\n\^C\ninner\$ ?$/m);
    await pane.type(`echo "after ctrl-c: $?"`);
    await pane.waitScreen(/^after ctrl-c: 130$/m);
    await pane.type("exit");
    const screen = await pane.waitScreen(/^outer: 0$/m);
    assert.doesNotMatch(screen, /cannot set terminal process group|no job control/);
  }));

sandboxTest(
  "Ctrl-Z on a sandboxed command stops the caller's job; fg continues it, Ctrl-C ends it",
  () =>
    withPane(async (pane) => {
      await pane.type(`${CLI} run -- sleep 3072; echo "outer: $?"`);
      assert.ok(await waitFor(() => processesWith("sleep 3072").length === 1, TIMEOUT_MS), "the command started");
      const state = () => Deno.readTextFileSync(`/proc/${processesWith("sleep 3072")[0]}/stat`).split(") ")[1][0];
      await pane.tmux("send-keys", "-t", "0", "C-z");
      await pane.waitScreen(/^\[1\]\+\s+Stopped\s+.*sleep 3072/m);
      await pane.waitScreen(/^outer: 148$/m); // the shell went on: its job was stopped by SIGTSTP
      assert.equal(state(), "T", "the command is stopped");
      await pane.type("fg");
      assert.ok(await waitFor(() => state() === "S", TIMEOUT_MS), "fg continued the command");
      await pane.tmux("send-keys", "-t", "0", "C-c");
      await pane.type(`echo "after fg: $?"`);
      await pane.waitScreen(/^after fg: 130$/m);
      assert.deepEqual(processesWith("sleep 3072"), []);
    }),
);

sandboxTest("the window size inside matches the pane and follows a resize", () =>
  withPane(async (pane) => {
    await pane.type(`${CLI} run --setenv 'PS1=inner$ ' -- /bin/bash --norc --noprofile -i; echo "outer: $?"`);
    await pane.waitScreen(/^inner\$ ?$/m);
    await pane.type(`echo "size=$(stty size)"`);
    await pane.waitScreen(/^size=30 100$/m);
    await pane.tmux("resize-window", "-t", "0", "-x", "90", "-y", "20");
    // bash learns of the change through SIGWINCH from the pty; stty reads the pty's size.
    // The resize reaches the CLI as an asynchronous SIGWINCH: ask again until it has arrived.
    let resized = false;
    for (let i = 0; !resized && i < 15; i++) {
      await pane.type(`echo "size${i}=$(stty size) cols=$COLUMNS"`);
      await pane.waitScreen(new RegExp(`^size${i}=`, "m"));
      resized = await waitFor(async () => new RegExp(`^size${i}=20 90 cols=90$`, "m").test(await pane.screen()), 1000);
    }
    assert.ok(resized, await pane.screen());
    await pane.type("exit");
    await pane.waitScreen(/^outer: 0$/m);
  }));

sandboxTest("TIOCSTI and TIOCLINUX from inside do not reach the caller's terminal", () =>
  withPane(async (pane) => {
    const marker = `${pane.dir}/injected`;
    await Deno.writeTextFile(
      `${pane.dir}/inject.py`,
      `import fcntl, termios, struct
for c in "touch ${marker}\\n".encode():
    try:
        fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))
    except OSError as e:
        print("TIOCSTI failed", e.errno); break
else:
    print("TIOCSTI done")
try:
    fcntl.ioctl(0, 0x541C, struct.pack("b", 3))  # TIOCLINUX, TIOCL_PASTESEL
    print("TIOCLINUX done")
except OSError as e:
    print("TIOCLINUX failed", e.errno)
`,
    );
    // Whatever lands in the sandbox's pty is read there and shown, not run by the caller's shell.
    await pane.type(
      // The default seccomp profile refuses both ioctls (tests/seccomp_test.ts); this checks the terminal itself.
      `${CLI} run --seccomp unconfined --ro-bind ${pane.dir} -- /bin/bash -c '/usr/bin/python3 ${pane.dir}/inject.py; read -r -t 10 line; echo "read inside: $line"'; echo "outer: $?"`,
    );
    const screen = await pane.waitScreen(/^read inside: .*$/m);
    await pane.waitScreen(/^outer: 0$/m);
    // Anything pushed into the caller's terminal would be read by its shell before this line.
    await pane.type(`echo "then: $((6 * 7))"`);
    await pane.waitScreen(/^then: 42$/m);
    assert.ok(!await exists(marker), "the caller's shell ran the injected command");
    assert.match(screen, /^TIOCLINUX failed \d+$/m);
    const legacy = await Deno.readTextFile("/proc/sys/dev/tty/legacy_tiocsti").catch(() => "");
    if (legacy.trim() === "1") {
      // The ioctl works, on the sandbox's own terminal: the text is the sandbox's next input line.
      assert.match(screen, /^TIOCSTI done$/m);
      assert.match(screen, new RegExp(`^read inside: touch ${marker}$`, "m"));
    } else {
      console.log("dev.tty.legacy_tiocsti is not 1: TIOCSTI is refused by the kernel; checked only that nothing ran");
    }
  }));

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** dash leaves the terminal's mode alone (bash's readline sets its own at every prompt). */
const DASH = ["env", "ENV=", "/bin/dash", "-i"];

sandboxTest(
  "the caller's terminal mode is restored on exit and after SIGKILL of the command",
  () =>
    withPane(async (pane) => {
      const before = await pane.mode();
      assert.ok(before, "stty -F reads the pane's mode");
      // The command scrambles its own terminal's mode; the caller's is raw only while the sandbox runs.
      await pane.type(`${CLI} run -- /bin/sh -c 'stty -echo -icanon -isig; echo READY; read -r x'; echo "code=$?"`);
      await pane.waitScreen(/^READY$/m);
      assert.notEqual(await pane.mode(), before, "raw while the sandbox runs");
      await pane.type("bye");
      await pane.waitScreen(/code=0$/m);
      assert.equal(await pane.mode(), before);

      // A sandbox that fails to set up (exit 125) leaves the mode as it found it.
      await pane.type(`${CLI} run -- /no/such/command; echo "code=$?"`);
      await pane.waitScreen(/code=125$/m);
      assert.match(await pane.screen(), /^hakoniwa: execve: command not found: \/no\/such\/command/m);
      assert.equal(await pane.mode(), before);

      const sleep = "/bin/sleep 4321";
      await pane.type(`${CLI} run -- ${sleep}; echo "code=$?"`);
      assert.ok(await waitFor(() => processesWith(sleep).length === 1, TIMEOUT_MS), "the command started");
      assert.ok(await waitFor(async () => await pane.mode() !== before, TIMEOUT_MS), "raw while the sandbox runs");
      for (const pid of processesWith(sleep)) Deno.kill(pid, "SIGKILL");
      await pane.waitScreen(/code=137$/m);
      assert.equal(await pane.mode(), before);
    }, DASH),
);

sandboxTest("a stdin that is not a terminal gives a new session without a controlling terminal", async () => {
  const r = await hakoniwa(["run", "--", "/bin/sh", "-c", `tty; echo "stat=$(cut -d' ' -f6,7 /proc/$$/stat) pid=$$"`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^not a tty$/m);
  const stat = /^stat=(\d+) (\d+) pid=(\d+)$/m.exec(r.stdout);
  assert.ok(stat, r.stdout);
  assert.equal(stat[1], stat[3], "the command leads a new session");
  assert.equal(stat[2], "0", "tty_nr is 0: no controlling terminal");
});
