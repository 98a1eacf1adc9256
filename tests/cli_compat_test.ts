// Integration tests of hakoniwa 1.x's flags and behaviours on the command line (docs/compat.md): `-c/--config`
// and the 1.x forms of the other flags. The 1.x cases themselves run in tests/compat/.
import assert from "node:assert/strict";
import { newFlagState } from "../src/cli/flags.ts";
import { resolve } from "../src/cli/sandbox.ts";
import { hakoniwa, sandboxTest, tempDir } from "./helpers.ts";

sandboxTest(
  "-c/--config runs a 1.x config on its own defaults; flags go on top; the command defaults to its cmdline",
  async () => {
    const dir = await tempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/box.toml`,
        [
          'mounts = [{ source = "/bin" }, { source = "/lib" }, { source = "/lib64" }, { source = "/usr" }]',
          'envs = [{ name = "GREETING", value = "hi" }]',
          "[command]",
          'cmdline = ["/bin/sh", "-c", "echo $GREETING; ls /"]',
        ].join("\n") + "\n",
      );
      // No KISS policy underneath: /proc (as in 1.x), no /dev or /tmp unless the config mounts them.
      const r = await hakoniwa(["run", "-c", `${dir}/box.toml`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "hi\nbin\nlib\nlib64\nproc\nusr\n");
      const flags = await hakoniwa(["run", "--config", `${dir}/box.toml`, "--tmpfs", "/scratch", "--", "ls", "/"]);
      assert.equal(flags.code, 0, flags.stderr);
      assert.equal(flags.stdout, "bin\nlib\nlib64\nproc\nscratch\nusr\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("-c: without a command in the config or after --, the command is 1.x's /bin/sh, not $SHELL", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.toml`, 'mounts = [{ source = "/bin" }]\n');
    const state = newFlagState();
    const { plan } = await resolve([], { config: `${dir}/c.toml` }, state);
    assert.deepEqual(plan.argv, ["/bin/sh"]);
    assert.deepEqual(plan.namespaces, ["user", "mount", "pid"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-c: an invalid config exits 2 naming file, line and key; --config with --policy-file is refused", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.toml`, 'mounts = [{ source = "/bin" }]\nhostnam = "x"\n');
    const r = await hakoniwa(["run", "-c", `${dir}/bad.toml`, "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^hakoniwa: ${dir}/bad\\.toml:2:1: hostnam: unknown key`));
    const both = await hakoniwa(["run", "-c", `${dir}/bad.toml`, "--policy-file", `${dir}/bad.toml`, "--", "true"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--config and --policy-file cannot be given together/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
