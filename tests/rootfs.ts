/**
 * A small root filesystem for tests (tests/compat/ runs 1.x's cases in it; tests/oci/ runs containers on it).
 *
 * @module
 */

/** The static busybox of Debian's busybox-static (scripts/debian_deps.sh installs it). */
const BUSYBOX = "/bin/busybox";

/**
 * Debian's static busybox with a link for each of its applets where its own list puts them (/bin/ls, /usr/bin/id,
 * ...), and the directories a root has (tests/compat/ adds Alpine's /etc/passwd and /etc/group from its fixtures).
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
