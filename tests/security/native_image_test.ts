// Class: code loaded from a path another user controls. The native core and the hakoniwa-init program are loaded
// from bytes checked in memory (sealed memfds), never from a shared or predictable directory: planted libraries and
// programs where older versions cached them, with an attacker swapping them all the time, are never loaded. Where
// executable memfds are refused (vm.memfd_noexec = 2), the init program goes only to a directory of the caller's own.
import assert from "node:assert/strict";
import { NATIVE_SHA256 } from "../../src/generated/native.js";
import { cliArgv, IS_ROOT, pathExists, sandboxTest, tempDir } from "../helpers.ts";

const dec = new TextDecoder();
const OLD_NAME = `libhakoniwa-${NATIVE_SHA256.slice(0, 16)}.so`;

/** The user that plays the attacker: another account when root, else ourselves (our own dirs are planted). */
function attacker(): string | null {
  if (!IS_ROOT) return null;
  for (const name of ["hakoniwa-test", "nobody"]) {
    if (new Deno.Command("id", { args: ["-u", name], stdout: "null", stderr: "null" }).outputSync().success) {
      return name;
    }
  }
  return null;
}

/** The argv that runs `args` as `user` (by number: a distribution may have no group named like a user). */
function asAttacker(user: string | null, args: string[]): string[] {
  if (!user) return args;
  const id = (flag: string) =>
    new TextDecoder().decode(new Deno.Command("id", { args: [flag, user], stdout: "piped" }).outputSync().stdout)
      .trim();
  return ["setpriv", `--reuid=${id("-u")}`, `--regid=${id("-g")}`, "--clear-groups", "--", ...args];
}

/** A library whose constructor writes MARKER, exporting the ABI symbol so a loader would accept it. */
async function evilLibrary(dir: string, marker: string): Promise<string> {
  const src = `${dir}/evil.c`;
  await Deno.writeTextFile(
    src,
    `#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void pwn(void) {
  int fd = open("${marker}", O_CREAT | O_WRONLY | O_APPEND, 0666);
  if (fd >= 0) { write(fd, "library\\n", 8); close(fd); }
}
int hk_abi_version(void) { return 2; }
`,
  );
  const out = `${dir}/evil.so`;
  const r = await new Deno.Command("gcc", { args: ["-shared", "-fPIC", "-o", out, src], stderr: "piped" }).output();
  assert.ok(r.success, dec.decode(r.stderr));
  return out;
}

/** Plants the library and a marker-writing hakoniwa-init in each dir, as the attacker, 0777 so anyone may write. */
async function plant(user: string | null, dirs: string[], lib: string, marker: string) {
  const script = [
    "set -e",
    `for d in ${dirs.map((d) => `'${d}'`).join(" ")}; do`,
    '  mkdir -p "$d"; chmod 0777 "$d" || true',
    `  cp '${lib}' "$d/${OLD_NAME}"; cp '${lib}' "$d/libhakoniwa.so"`,
    `  printf '#!/bin/sh\\necho init >> ${marker}\\n' > "$d/hakoniwa-init"; chmod 0777 "$d/hakoniwa-init"`,
    "done",
  ].join("\n");
  const r = await new Deno.Command(asAttacker(user, ["sh", "-c", script])[0], {
    args: asAttacker(user, ["sh", "-c", script]).slice(1),
    stderr: "piped",
  }).output();
  assert.ok(r.success, dec.decode(r.stderr));
}

/** The attacker keeps replacing every planted file (rename over it) until killed. */
function swapper(user: string | null, dirs: string[], lib: string): Deno.ChildProcess {
  const script = `while :; do for d in ${dirs.map((d) => `'${d}'`).join(" ")}; do ` +
    `cp '${lib}' "$d/.x" 2>/dev/null && mv -f "$d/.x" "$d/${OLD_NAME}" 2>/dev/null; done; done`;
  const argv = asAttacker(user, ["sh", "-c", script]);
  return new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" }).spawn();
}

/** A scratch directory others can read, with a world-writable, empty marker file any planted code would write. */
async function scratch(): Promise<{ dir: string; marker: string; lib: string }> {
  const dir = await tempDir();
  await Deno.chmod(dir, 0o755);
  const marker = `${dir}/marker`;
  await Deno.writeTextFile(marker, "");
  await Deno.chmod(marker, 0o666);
  const lib = await evilLibrary(dir, marker);
  await Deno.chmod(lib, 0o755);
  return { dir, marker, lib };
}

async function runCli(env: Record<string, string>, prefix: string[] = []) {
  const argv = [...prefix, ...cliArgv("run", "-v", "--", "/bin/sh", "-c", "echo inside")];
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

sandboxTest("planted native caches and a swapping attacker: nothing foreign is ever loaded", async () => {
  const user = attacker();
  const { dir, marker, lib } = await scratch();
  const uid = Deno.uid();
  const home = `${dir}/home`, cache = `${dir}/xdg-cache`, runtime = `${dir}/runtime`;
  // Where the core used to be cached, and every directory a loader might look in.
  const planted = [
    `/dev/shm/hakoniwa-${uid}`,
    `/tmp/hakoniwa-${uid}`,
    `${home}/.cache/hakoniwa`,
    `${cache}/hakoniwa`,
    `${runtime}/hakoniwa`,
  ];
  await Deno.mkdir(home), await Deno.mkdir(cache), await Deno.mkdir(runtime);
  for (const d of [home, cache, runtime]) await Deno.chmod(d, 0o777); // the attacker may plant inside
  const preexisting = planted.filter((d) => d.startsWith("/dev/shm") || d.startsWith("/tmp")).filter(pathExists);
  await plant(user, planted.filter((d) => !preexisting.includes(d)), lib, marker);
  const swap = swapper(user, planted.filter((d) => !preexisting.includes(d)), lib);
  try {
    const env = { HOME: home, XDG_CACHE_HOME: cache, XDG_RUNTIME_DIR: runtime, HAKONIWA_NATIVE_PATH: "" };
    for (let i = 0; i < 5; i++) {
      const r = await runCli(env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "inside\n");
    }
    assert.equal(Deno.readTextFileSync(marker), "", "a planted library or program ran");
  } finally {
    swap.kill("SIGKILL");
    await swap.status;
    for (const d of planted.filter((d) => !preexisting.includes(d))) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
    await Deno.remove(dir, { recursive: true });
  }
});

// Only root can raise vm.memfd_noexec (in a pid namespace of its own, so the host keeps its setting).
Deno.test({
  name: "executable memfds refused: hakoniwa-init runs from the caller's own directory, never a foreign one [root]",
  ignore: !IS_ROOT,
  async fn() {
    const user = attacker();
    const { dir, marker, lib } = await scratch();
    try {
      const foreign = `${dir}/foreign`, own = `${dir}/own`;
      await Deno.mkdir(foreign, { mode: 0o700 });
      if (user) await new Deno.Command("chown", { args: [user, foreign] }).output();
      await Deno.mkdir(own, { mode: 0o700 });
      await plant(user, [`${foreign}/.cache/hakoniwa`], lib, marker);
      const noexec = [
        "unshare",
        "--pid",
        "--fork",
        "--mount-proc",
        "sh",
        "-c",
        'echo 2 > /proc/sys/vm/memfd_noexec && exec "$@"',
        "sh",
      ];

      // Only a foreign HOME: nothing is usable, the run fails before anything starts and says why.
      const refused = await runCli({ HOME: foreign, XDG_RUNTIME_DIR: "" }, noexec);
      assert.equal(refused.code, 125, refused.stderr);
      assert.match(refused.stderr, /executable memfds are refused/);
      assert.match(refused.stderr, /not the caller's own directory/);

      // The caller's own runtime directory serves, and the warning says where the init program runs from.
      const ok = await runCli({ HOME: foreign, XDG_RUNTIME_DIR: own }, noexec);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "inside\n");
      assert.match(ok.stderr, new RegExp(`hakoniwa-init runs from an unnamed file in ${own}`));
      assert.deepEqual([...Deno.readDirSync(own)], [], "the init program's file has no name");
      assert.equal(Deno.readTextFileSync(marker), "", "a planted library or program ran");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
