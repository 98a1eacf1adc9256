import assert from "node:assert/strict";
import { HostFileError } from "../native/safe_open.ts";
import { defaultResolver, hostsResolver, parseHosts } from "./resolve.ts";

Deno.test("parseHosts: addresses to names, comments and bad lines skipped, canonical text", () => {
  const hosts = parseHosts(
    "# pinned\n127.0.0.1 registry.test Other.Test. # two names\n0:0::1 registry.test\nnot-an-address x.test\n\n",
  );
  assert.deepEqual(hosts.get("registry.test"), ["127.0.0.1", "::1"]);
  assert.deepEqual(hosts.get("other.test"), ["127.0.0.1"]);
  assert.equal(hosts.has("x.test"), false);
});

Deno.test("a hosts resolver answers from its file only, IPv4 first", async () => {
  const r = hostsResolver("::1 a.test\n10.0.0.1 a.test\n", "t");
  assert.deepEqual(await r.resolve("A.test"), ["10.0.0.1", "::1"]);
  assert.deepEqual(await r.resolve("b.test"), []);
});

Deno.test("HAKONIWA_NET_HOSTS: the named file is the only source; an unreadable one is an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-hosts-" });
  try {
    await Deno.writeTextFile(`${dir}/hosts`, "127.0.0.2 pinned.test\n");
    const r = defaultResolver(`${dir}/hosts`);
    assert.equal(r.source, `HAKONIWA_NET_HOSTS=${dir}/hosts`);
    assert.deepEqual(await r.resolve("pinned.test"), ["127.0.0.2"]);
    assert.deepEqual(await r.resolve("localhost"), [], "not even /etc/hosts is read");
    assert.throws(() => defaultResolver(`${dir}/missing`), HostFileError, "no such file or directory");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
