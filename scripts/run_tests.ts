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
const TEST_USER = "hakoniwa-test";
/** Subordinate ids granted to root when it has none, above what useradd hands out (up to 600100000). */
const ROOT_SUBIDS = "1000000000-1000065535";

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
  const env = { HAKONIWA_SLOW: slow ? "1" : "" };
  await denoTest(Deno.uid() === 0 ? "as root" : "as the current user", deno, testArgs, { cwd: root, env });

  if (Deno.uid() === 0) {
    // Rootless: an unprivileged user runs the same suite from a copy it can read.
    console.log(
      `\nThe rootless run changes this machine: it creates the user ${TEST_USER} when missing (useradd, which also ` +
        `grants it /etc/subuid and /etc/subgid ranges), grants root the range ${ROOT_SUBIDS} there when root has ` +
        `none, and runs from a copy of the tree in ${Deno.env.get("TMPDIR") ?? "/tmp"}, ` +
        "removed afterwards.",
    );
    if (!(await sh("id", ["-u", TEST_USER]))) {
      await sh("useradd", ["--no-create-home", "--shell", "/bin/sh", TEST_USER]);
    }
    // --userns auto as root maps 1.. to root's own subordinate range (1.x's compat cases need one).
    const granted = (file: string) => Deno.readTextFile(file).then((t) => /^(root|0):\d+:\d+$/m.test(t), () => false);
    if (!(await granted("/etc/subuid")) || !(await granted("/etc/subgid"))) {
      console.log(`granting root the subordinate ids ${ROOT_SUBIDS} in /etc/subuid and /etc/subgid (usermod)`);
      await sh("usermod", ["--add-subuids", ROOT_SUBIDS, "--add-subgids", ROOT_SUBIDS, "root"]);
    }
    const uid = (await new Deno.Command("id", { args: ["-u", TEST_USER] }).output()).stdout;
    const uidText = new TextDecoder().decode(uid).trim();
    if (!uidText) {
      console.log(`cannot create the user ${TEST_USER}: the rootless run is missing`);
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
      await sh("chown", ["-R", `${TEST_USER}:${TEST_USER}`, copy]);
      await Deno.chmod(copy, 0o755);
      const home = `${copy}/.home`;
      await Deno.mkdir(home, { recursive: true });
      await sh("chown", [`${TEST_USER}:${TEST_USER}`, home]);
      await denoTest("as an unprivileged user", "setpriv", [
        `--reuid=${TEST_USER}`,
        `--regid=${TEST_USER}`,
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
