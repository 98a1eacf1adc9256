// The module graph works from a URL with no checkout: the repository is served on 127.0.0.1 and used from a directory
// outside it with an empty DENO_DIR, as from JSR. The native core then comes from the embedded copy, written to a cache
// directory, checked against its hash, with a fallback when the cache is on a noexec mount.
import assert from "node:assert/strict";
import { NATIVE_BASE64, NATIVE_SHA256 } from "../src/generated/native.ts";
import { sha256Hex } from "../src/native_cache.ts";
import { ROOT, sandboxTest, tempDir } from "./helpers.ts";

const dec = new TextDecoder();
const LIB = `libhakoniwa-${NATIVE_SHA256.slice(0, 16)}.so`;
const TYPES: Record<string, string> = {
  ts: "application/typescript",
  json: "application/json",
  toml: "text/plain",
};

/** Serves the repository's files read-only on 127.0.0.1 at a free port. */
function serveRepository(): { url: string; close: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.split("/").includes("..") || path.includes("node_modules") || path.startsWith("/.git")) {
      return new Response("forbidden", { status: 403 });
    }
    try {
      const body = await Deno.readFile(`${ROOT}${path}`);
      const type = TYPES[path.split(".").pop() ?? ""] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** The library used from the URL: one run, then what was loaded, as JSON on stdout. */
function script(base: string): string {
  return `import { Container, nativeLibraryInfo } from "${base}/mod.ts";
const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
const out = await c.command("/bin/sh", { args: ["-c", "echo from the sandbox"] }).output();
const dir = Deno.env.get("HAKONIWA_CACHE_DIR");
const listing = dir ? [...Deno.readDirSync(dir)].map((e) => e.name) : [];
console.log(JSON.stringify({ stdout: new TextDecoder().decode(out.stdout), code: out.code, ...nativeLibraryInfo(), listing }));
`;
}

async function denoIn(cwd: string, args: string[], env: Record<string, string>, prefix: string[] = []) {
  const [cmd, ...rest] = [...prefix, Deno.execPath(), ...args];
  const out = await new Deno.Command(cmd, { args: rest, cwd, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function canUnshareNoexec(): boolean {
  try {
    return new Deno.Command("unshare", {
      args: ["-rm", "sh", "-c", "mount -t tmpfs -o noexec tmpfs /mnt"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

sandboxTest("from a URL with an empty DENO_DIR: the CLI and the library run on the embedded core", async () => {
  const server = serveRepository();
  const dir = await tempDir();
  try {
    const home = `${dir}/home`;
    await Deno.mkdir(home);
    const env = {
      DENO_DIR: `${dir}/deno-dir`,
      HOME: home,
      XDG_CACHE_HOME: "",
      HAKONIWA_NATIVE_PATH: "",
      HAKONIWA_CACHE_DIR: "",
      NO_COLOR: "1",
      // npm packages come from the registry; it may sit behind a TLS proxy that only the system's store trusts.
      DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") ?? "mozilla,system",
    };
    // The CLI, exactly as the README says to run it from JSR.
    const cli = await denoIn(dir, ["run", "-A", `${server.url}/mod.ts`, "run", "--", "/bin/sh", "-c", "echo ok"], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, "ok\n");
    assert.equal(sha256Hex(await Deno.readFile(`${home}/.cache/hakoniwa/${LIB}`)), NATIVE_SHA256);

    // The library, imported from the URL.
    await Deno.writeTextFile(`${dir}/use.ts`, script(server.url));
    const cache = `${dir}/cache`;
    const lib = await denoIn(dir, ["run", "-A", "use.ts"], { ...env, HAKONIWA_CACHE_DIR: cache });
    assert.equal(lib.code, 0, lib.stderr);
    const r = JSON.parse(lib.stdout);
    assert.equal(r.stdout, "from the sandbox\n");
    assert.equal(r.from, "the embedded library");
    assert.equal(r.path, `${cache}/${LIB}`);
    assert.ok(!r.path.startsWith(ROOT));

    // A tampered cache file (still a loadable library: one byte appended) is rejected by the hash and replaced.
    const good = Uint8Array.from(atob(NATIVE_BASE64), (ch) => ch.charCodeAt(0));
    await Deno.remove(`${cache}/${LIB}`); // the cached file is read-only
    await Deno.writeFile(`${cache}/${LIB}`, new Uint8Array([...good, 0]), { mode: 0o500 });
    const tampered = await denoIn(dir, ["run", "-A", "use.ts"], { ...env, HAKONIWA_CACHE_DIR: cache });
    assert.equal(tampered.code, 0, tampered.stderr);
    assert.equal(JSON.parse(tampered.stdout).path, `${cache}/${LIB}`);
    assert.equal(sha256Hex(await Deno.readFile(`${cache}/${LIB}`)), NATIVE_SHA256);

    // A cache on a noexec mount: written there, fails to load, the next directory ($HOME/.cache) serves.
    if (!canUnshareNoexec()) {
      console.log("noexec fallback not tested: cannot mount a noexec tmpfs in `unshare -rm` here");
    } else {
      const noexec = `${dir}/noexec`;
      await Deno.mkdir(noexec);
      const fb = await denoIn(dir, ["run", "-A", "use.ts"], { ...env, HAKONIWA_CACHE_DIR: noexec }, [
        "unshare",
        "-rm",
        "sh",
        "-c",
        `mount -t tmpfs -o noexec tmpfs "${noexec}" && exec "$@"`,
        "sh",
      ]);
      assert.equal(fb.code, 0, fb.stderr);
      const f = JSON.parse(fb.stdout);
      assert.equal(f.stdout, "from the sandbox\n");
      assert.ok(f.listing.includes(LIB), `the noexec cache was tried: ${f.listing}`);
      assert.equal(f.path, `${home}/.cache/hakoniwa/${LIB}`);
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
