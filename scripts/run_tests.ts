/**
 * The test command behind `npm test`: static checks, then `deno test` as
 * the current user and, when that is root, again as an unprivileged user
 * from a copy of the tree, so every integration test runs both rootless
 * and as root. Ends with one plain line `N passed, N failed`.
 *
 * Usage: deno run -A scripts/run_tests.ts [--slow] [--only-static] [-- deno test args]
 */
const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const deno = Deno.execPath();
const args = Deno.args;
const extra = args.includes("--") ? args.slice(args.indexOf("--") + 1) : [];
const slow = args.includes("--slow");
import { setUpMachine, TEST_USER } from "./machine_setup.ts";

let passed = 0, failed = 0, skipped = 0;

async function step(name: string, cmd: string, cmdArgs: string[], opts: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(cmd, { args: cmdArgs, cwd: root, stdout: "piped", stderr: "piped", ...opts })
    .output();
  const ok = out.success;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (!ok) {
    console.log(new TextDecoder().decode(out.stdout).slice(-4000));
    console.log(new TextDecoder().decode(out.stderr).slice(-4000));
  }
  ok ? passed++ : failed++;
}

/** Runs deno test streaming its output, and adds its counts. */
async function denoTest(label: string, cmd: string, cmdArgs: string[], opts: Deno.CommandOptions = {}) {
  console.log(`\n=== deno test ${label} ===`);
  const child = new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "inherit", ...opts }).spawn();
  let tail = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    Deno.stdout.writeSync(chunk);
    tail = (tail + dec.decode(chunk)).slice(-2000);
  }
  const status = await child.status;
  // deno test ends with "ok | 12 passed (3 steps) | 0 failed | 1 ignored (2s)"
  const clean = tail.replace(new RegExp(String.raw`\u001b\[[0-9;]*m`, "g"), "");
  const m =
    /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/
      .exec(clean);
  if (!m) {
    console.log(`${label}: no summary from deno test (exit ${status.code})`);
    failed++;
    return;
  }
  passed += Number(m[1]);
  failed += Number(m[2]);
  skipped += Number(m[3] ?? 0);
  if (!status.success && Number(m[2]) === 0) failed++; // e.g. an uncaught error outside a test
}

async function sh(cmd: string, cmdArgs: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd, { args: cmdArgs, stdout: "null", stderr: "null" }).output().catch(() => null);
  return !!out?.success;
}

// The slow suite runs only tests/slow/ (fuzzing minutes, soak) with HAKONIWA_SLOW=1.
const testArgs = ["test", "-A", "--no-check", ...(slow ? ["tests/slow/"] : []), ...extra];

if (!slow) {
  await step("deno fmt --check", deno, ["fmt", "--check"]);
  await step("deno lint", deno, ["lint"]);
  await step("deno check", deno, ["check", "mod.ts", "cli.ts", "scripts/", "tests/", "src/"]);
  await step("generated modules are fresh", deno, ["run", "-A", "scripts/generate.ts", "--check"]);
  await step("deno doc --lint mod.ts", deno, ["doc", "--lint", "mod.ts"]);
  await step("deno publish --dry-run", deno, ["publish", "--dry-run", "--allow-dirty"]);
}

if (!args.includes("--only-static")) {
  // The JSDoc examples run real sandboxes. deno.doctest.json is deno.json without noUnusedLocals: deno test --doc
  // imports every export of a module into each example.
  if (!slow) {
    await step("deno test --doc (JSDoc examples)", deno, [
      "test",
      "-A",
      "--doc",
      "--config",
      "deno.doctest.json",
      "mod.ts",
      "cli.ts",
      "src/",
    ]);
  }
  if (Deno.uid() === 0) {
    // Before the first test: the root run's --userns auto cases map root's subordinate range, and the rootless run
    // needs its user. Verified after; a machine that cannot be set up runs no test.
    console.log(
      `\nAs root the suite changes this machine: it creates the user ${TEST_USER} when missing, grants it and root ` +
        "subordinate id ranges in /etc/subuid and /etc/subgid when they have none (scripts/machine_setup.ts), and " +
        `runs the rootless part from a copy of the tree in ${Deno.env.get("TMPDIR") ?? "/tmp"}, removed afterwards.`,
    );
    try {
      const changed = await setUpMachine();
      console.log(changed.length ? changed.map((l) => `machine set-up: ${l}`).join("\n") : "machine set-up: ready");
    } catch (e) {
      console.log(`FAIL ${(e as Error).message}`);
      console.log(`\n${passed} passed, ${failed + 1} failed`);
      Deno.exit(1);
    }
  }
  const env = { HAKONIWA_SLOW: slow ? "1" : "" };
  await denoTest(Deno.uid() === 0 ? "as root" : "as the current user", deno, testArgs, { cwd: root, env });

  if (Deno.uid() === 0) {
    // Rootless: an unprivileged user runs the same suite from a copy it can read.
    // By number: no assumption that the user's group bears its name.
    const id = async (flag: string) =>
      new TextDecoder().decode((await new Deno.Command("id", { args: [flag, TEST_USER] }).output()).stdout).trim();
    const [uid, gid] = [await id("-u"), await id("-g")];
    if (!uid || !gid) {
      console.log(`FAIL the user ${TEST_USER} is missing: the rootless run cannot start`);
      failed++;
    } else {
      const copy = await Deno.makeTempDir({ prefix: "hakoniwa-rootless-" });
      // Removed however the run ends (an interrupt included).
      const removeCopy = () => {
        try {
          Deno.removeSync(copy, { recursive: true });
        } catch { /* already gone */ }
      };
      globalThis.addEventListener("unload", removeCopy);
      const interrupted = () => {
        removeCopy();
        Deno.exit(130);
      };
      Deno.addSignalListener("SIGINT", interrupted);
      await sh("cp", ["-a", `${root}/.`, copy]);
      await Deno.remove(`${copy}/.git`, { recursive: true }).catch(() => {});
      await sh("chown", ["-R", `${uid}:${gid}`, copy]);
      await Deno.chmod(copy, 0o755);
      const home = `${copy}/.home`;
      await Deno.mkdir(home, { recursive: true });
      await sh("chown", [`${uid}:${gid}`, home]);
      await denoTest("as an unprivileged user", "setpriv", [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        "--init-groups",
        "--reset-env",
        "env",
        `HOME=${home}`,
        `DENO_DIR=${home}/deno`,
        `PATH=/usr/local/bin:/usr/bin:/bin`,
        `HAKONIWA_SLOW=${slow ? "1" : ""}`,
        `${copy}/node_modules/.bin/deno`,
        ...testArgs,
      ], { cwd: copy });
      Deno.removeSignalListener("SIGINT", interrupted);
      removeCopy();
    }
  }
}

console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
Deno.exit(failed ? 1 : 0);
