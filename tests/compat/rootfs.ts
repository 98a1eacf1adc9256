/**
 * The small root 1.x's cases use in place of its Alpine tree, shared by the
 * CLI cases (compat_test.ts) and the library cases (library_test.ts).
 *
 * @module
 */

/** The static busybox of Debian's busybox-static (scripts/debian_deps.sh installs it). */
const BUSYBOX = "/bin/busybox";

/**
 * The small root 1.x's cases use (1.x ships an Alpine tree): Debian's static busybox with a link for each of its
 * applets where its own list puts them (/bin/ls, /usr/bin/id, ...), and Alpine's /etc/passwd and /etc/group
 * (fixtures/rootfs/etc, copied with the other fixtures).
 */
export function buildRootfs(dir: string): void {
  const list = new Deno.Command(BUSYBOX, { args: ["--list-full"], stdout: "piped", stderr: "null" }).outputSync();
  if (!list.success) throw new Error(`${BUSYBOX} --list-full failed: is Debian's busybox-static installed?`);
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "dev", "tmp", "etc", "root"]) {
    Deno.mkdirSync(`${dir}/${d}`, { recursive: true });
  }
  Deno.copyFileSync(BUSYBOX, `${dir}/bin/busybox`);
  for (const applet of new TextDecoder().decode(list.stdout).split("\n")) {
    if (!applet || applet === "bin/busybox" || !applet.includes("/")) continue;
    Deno.mkdirSync(`${dir}/${applet.slice(0, applet.lastIndexOf("/"))}`, { recursive: true });
    Deno.symlinkSync("/bin/busybox", `${dir}/${applet}`);
  }
}

/** A fresh temp directory holding that root with the fixture's /etc; the caller removes it. */
export function makeRootfs(): string {
  const dir = Deno.makeTempDirSync({ prefix: "hakoniwa-rootfs-" });
  buildRootfs(dir);
  const etc = new URL("./fixtures/rootfs/etc/", import.meta.url).pathname;
  for (const e of Deno.readDirSync(etc)) Deno.copyFileSync(`${etc}${e.name}`, `${dir}/etc/${e.name}`);
  return dir;
}
