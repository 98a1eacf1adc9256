// The sandbox's session keyring: a key of the caller's session must not be visible inside.
import assert from "node:assert/strict";
import { sandboxTest } from "./helpers.ts";

sandboxTest(
  "a key added outside is not visible inside, not even unconfined: keyctl is refused, /proc/keys empty",
  async () => {
    const name = `hakoniwa-probe-${crypto.randomUUID().slice(0, 8)}`;
    const inside = `keyctl search @s user ${name} >/dev/null 2>&1 && echo inside=visible || echo inside=hidden
keyctl rdescribe @s 2>&1; echo "proc-keys=$(wc -l < /proc/keys)"`;
    // keyctl session: a fresh named session keyring for this test only; the key goes into it. The guard
    // (src/seccomp/guard.ts) refuses keyctl under every profile, --seccomp unconfined included.
    const script = `keyctl add user ${name} s3cret @s >/dev/null &&
keyctl search @s user ${name} >/dev/null && echo outside=visible
exec "$0" run -A --no-check "$1" run --seccomp unconfined -- /bin/sh -c "$2"`;
    const out = await new Deno.Command("keyctl", {
      args: [
        "session",
        `hk-${name}`,
        "/bin/sh",
        "-c",
        script,
        Deno.execPath(),
        new URL("../cli.ts", import.meta.url).pathname,
        inside,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.equal(lines[0], "outside=visible", stdout + stderr);
    assert.equal(lines[1], "inside=hidden", stdout + stderr);
    assert.match(lines[2], /Operation not permitted/, "keyctl should be refused inside");
    assert.equal(lines[3], "proc-keys=0", stdout);
    assert.doesNotMatch(stdout, new RegExp(`hk-${name}`));
  },
);
