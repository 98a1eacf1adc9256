// The module graph works from a URL with no checkout: the repository is served on 127.0.0.1 and used from a directory
// outside it with an empty DENO_DIR, as from JSR. The native core then comes from the embedded copy, checked against
// its hash in memory and loaded from a sealed memfd: no file is written anywhere.
import assert from "node:assert/strict";
import { ROOT, sandboxTest, tempDir } from "./helpers.ts";

const dec = new TextDecoder();
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
const maps = Deno.readTextFileSync("/proc/self/maps").split("\\n").filter((l) => l.includes("libhakoniwa"));
console.log(JSON.stringify({ stdout: new TextDecoder().decode(out.stdout), code: out.code, ...nativeLibraryInfo(), maps }));
`;
}

async function denoIn(cwd: string, args: string[], env: Record<string, string>, prefix: string[] = []) {
  const [cmd, ...rest] = [...prefix, Deno.execPath(), ...args];
  const out = await new Deno.Command(cmd, { args: rest, cwd, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
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
      NO_COLOR: "1",
      // npm packages come from the registry; it may sit behind a TLS proxy that only the system's store trusts.
      DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") ?? "mozilla,system",
    };
    // The CLI, exactly as the README says to run it from JSR.
    const cli = await denoIn(dir, ["run", "-A", `${server.url}/mod.ts`, "run", "--", "/bin/sh", "-c", "echo ok"], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, "ok\n");

    // The library, imported from the URL.
    await Deno.writeTextFile(`${dir}/use.ts`, script(server.url));
    const lib = await denoIn(dir, ["run", "-A", "use.ts"], env);
    assert.equal(lib.code, 0, lib.stderr);
    const r = JSON.parse(lib.stdout);
    assert.equal(r.stdout, "from the sandbox\n");
    assert.equal(r.from, "the embedded library");
    assert.match(r.path, /^\/proc\/self\/fd\/\d+$/);
    // Mapped from the memfd (the kernel names it "/memfd:libhakoniwa"), not from any file.
    assert.ok(r.maps.length > 0 && r.maps.every((l: string) => l.includes("/memfd:libhakoniwa")), r.maps.join("\n"));
    // Nothing written: HOME (where a cache would go) stays empty.
    assert.deepEqual([...Deno.readDirSync(home)].map((e) => e.name), []);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
