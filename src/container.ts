/**
 * {@link Container}: the settings of a sandbox, built by intent. The CLI
 * and policy files fill one in; {@link Container.command} runs a program in
 * it.
 *
 * @module
 */
import { Command, type CommandOptions } from "./command.ts";
import type { ContainerSettings } from "./plan/types.ts";
export type { ContainerMount, ContainerSettings } from "./plan/types.ts";
import { fileErrorText, UsageError } from "./common/errors.ts";
export { DEFAULT_TMPFS_SIZE, MAX_TMPFS_SIZE, tmpfsInodes } from "./plan/plan.ts";
import { ALL_NAMESPACES, type Namespace } from "./plan/namespace.ts";
import { MAX_TMPFS_SIZE, REQUIRED_NAMESPACES } from "./plan/plan.ts";
import { isRlimitName, type RlimitName } from "./plan/rlimit.ts";
import { checkCount, checkMode, checkSize, checkSource } from "./plan/settings_checks.ts";
import {
  emptyLandlock,
  type LandlockResource,
  type LandlockSettings,
  parseFsAccess,
  parsePort,
  parseResource,
} from "./plan/landlock.ts";
import { checkNetwork, type NetworkMode } from "./net/network.ts";
import { parseAllowNet } from "./net/allow.ts";
import { defaultProfile, type SeccompProfile } from "./seccomp/profile.ts";
import { checkGroups } from "./plan/groups.ts";
import { autoIdMaps } from "./plan/idmap_helper.ts";
import { resolveUser, userFilesOf } from "./plan/user.ts";

/**
 * The directories of a host tree that {@link Container.rootfs} (and the CLI's `--rootfs DIR`) binds: the system's
 * programs, libraries and configuration (1.x's list for `/`, with libx32).
 *
 * @example
 * ```ts
 * import { ROOTFS_DIRS } from "jsr:@hakoniwa/cli";
 * console.log(ROOTFS_DIRS.includes("usr")); // true
 * ```
 */
export const ROOTFS_DIRS: readonly string[] = ["bin", "etc", "lib", "lib32", "lib64", "libx32", "sbin", "usr"];

function landlockOf(settings: ContainerSettings): LandlockSettings {
  return settings.landlock ??= emptyLandlock();
}

/**
 * The settings of a sandbox. `new Container()` starts from safe defaults
 * (every namespace unshared, a new /proc, a minimal /dev and a /tmp
 * tmpfs); `Container.empty()` starts from nothing but the required user,
 * mount and pid namespaces.
 *
 * @example
 * ```ts
 * import { Container } from "jsr:@hakoniwa/cli";
 * const c = new Container()
 *   .bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true })
 *   .rlimit("nofile", 64)
 *   .walltime(5)
 *   .env("GREETING", "hi");
 * const out = await c.command("/bin/sh", { args: ["-c", "echo $GREETING"] }).output();
 * console.log(new TextDecoder().decode(out.stdout)); // "hi\n"
 * ```
 */
export class Container {
  /** The settings; plan building reads them. */
  readonly settings: ContainerSettings;

  /** A container with safe defaults. */
  constructor() {
    this.settings = Container.#bare();
    for (const ns of ALL_NAMESPACES) this.settings.unshare.add(ns);
    this.procfs("/proc").devfs("/dev").tmpfs("/tmp");
  }

  static #bare(): ContainerSettings {
    return {
      unshare: new Set(REQUIRED_NAMESPACES),
      rootdir: null,
      mounts: [],
      uidMaps: [],
      gidMaps: [],
      hostname: "hakoniwa",
      rlimits: new Map(),
      walltime: null,
      env: new Map(),
      workdir: null,
      seccomp: defaultProfile(),
    };
  }

  /**
   * A container with nothing in it but the user, mount and pid namespaces
   * and an empty root (and the default seccomp profile).
   */
  static empty(): Container {
    const c = Object.create(Container.prototype) as Container;
    (c as { settings: ContainerSettings }).settings = Container.#bare();
    return c;
  }

  /**
   * Binds a host path read-only (for every submount too) at `target`
   * (default: the same path). With `optional`, a missing source is skipped.
   */
  bindRo(source: string, target: string = source, options: { optional?: boolean } = {}): this {
    checkSource("bindRo", source);
    this.settings.mounts.push({ kind: "bind", source, target, readonly: true, optional: options.optional });
    return this;
  }

  /**
   * Binds a host path read-write at `target` (default: the same path).
   * With `optional`, a missing source is skipped.
   */
  bindRw(source: string, target: string = source, options: { optional?: boolean } = {}): this {
    checkSource("bindRw", source);
    this.settings.mounts.push({ kind: "bind", source, target, readonly: false, optional: options.optional });
    return this;
  }

  /**
   * Mounts a new tmpfs at `target`, of `size` bytes (default: the
   * container's {@link Container.tmpfsSize}, else {@link DEFAULT_TMPFS_SIZE})
   * holding at most `inodes` files, directories and links (default: one per
   * 4 KiB page of its size, at least 64; see {@link tmpfsInodes}).
   */
  tmpfs(target: string, options: { size?: number; mode?: number; inodes?: number } = {}): this {
    if (options.size !== undefined) checkCount("tmpfs size", options.size, 1, MAX_TMPFS_SIZE);
    if (options.mode !== undefined) checkMode("tmpfs mode", options.mode);
    if (options.inodes !== undefined) checkCount("tmpfs inodes", options.inodes, 1, 2 ** 32);
    this.settings.mounts.push({ kind: "tmpfs", target, ...options });
    return this;
  }

  /**
   * The size in bytes of every tmpfs that does not give its own (default
   * {@link DEFAULT_TMPFS_SIZE}).
   *
   * @example
   * ```ts ignore
   * new Container().tmpfsSize(16 * 1024 * 1024);
   * ```
   */
  tmpfsSize(bytes: number): this {
    this.settings.tmpfsSize = checkCount("tmpfs size", bytes, 1, MAX_TMPFS_SIZE);
    return this;
  }

  /**
   * Mounts a minimal /dev at `target`: null, zero, full, random, urandom, tty, the std* links, shm, and a devpts
   * instance of its own at pts with ptmx linked to pts/ptmx (a program can open a pty inside), as 1.x.
   */
  devfs(target = "/dev"): this {
    this.settings.mounts.push({ kind: "devfs", target });
    return this;
  }

  /** Mounts a new procfs at `target`, with /proc/sys and friends read-only. */
  procfs(target = "/proc"): this {
    this.settings.mounts.push({ kind: "proc", target });
    return this;
  }

  /**
   * Creates a directory, mode 0o700 unless told (as hakoniwa 1.x's `--dir`; `mode` up to 0o1777: no set-uid or
   * set-gid). Missing parents are made 0o755.
   *
   * @example
   * ```ts ignore
   * new Container().dir("/work").dir("/shared", 0o755);
   * ```
   */
  dir(target: string, mode = 0o700): this {
    this.settings.mounts.push({ kind: "dir", target, mode: checkMode("dir mode", mode) });
    return this;
  }

  /** Creates a file with contents (`mode` up to 0o1777: no set-uid or set-gid). */
  file(target: string, contents: string, mode = 0o644): this {
    this.settings.mounts.push({ kind: "file", target, contents, mode: checkMode("file mode", mode) });
    return this;
  }

  /** Creates a symlink at `link` pointing to `original`. */
  symlink(original: string, link: string): this {
    this.settings.mounts.push({ kind: "symlink", original, target: link });
    return this;
  }

  /**
   * The system directories of the host tree `dir` in the sandbox, read-only, as hakoniwa 1.x's
   * `Container::new().rootfs("/")` and the CLI's `--rootfs DIR`: each of {@link ROOTFS_DIRS} that `dir` has, a bind
   * for a directory, the same symlink for a symlink (a merged /usr's `bin -> usr/bin`). `dir` is an absolute host
   * path of an existing directory; what it lacks is left out. Nothing else changes (`new Container()` keeps its
   * /proc, /dev and /tmp; the CLI's `--rootfs` first drops the policy's binds).
   *
   * @example
   * ```ts
   * import { Container } from "jsr:@hakoniwa/cli";
   * const out = await new Container().rootfs("/").command("/bin/cat", { args: ["/etc/hostname"] }).output();
   * console.log(out.success); // true: /etc is the host's, read-only
   * ```
   */
  rootfs(dir: string): this {
    checkSource("rootfs", dir);
    const base = dir.replace(/\/+$/, "");
    try {
      if (!Deno.statSync(dir).isDirectory) throw new UsageError(`rootfs: ${dir} is not a directory`, "rootfs");
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`rootfs: cannot use ${dir}: ${fileErrorText(e)}`, "rootfs", { cause: e });
    }
    for (const name of ROOTFS_DIRS) {
      const path = `${base}/${name}`;
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw new UsageError(`rootfs: cannot use ${path}: ${fileErrorText(e)}`, "rootfs", { cause: e });
      }
      if (st.isSymlink) this.symlink(Deno.readLinkSync(path), `/${name}`);
      else if (st.isDirectory) this.bindRo(path, `/${name}`);
    }
    return this;
  }

  /** Uses a host directory as the root (read-only unless `rw`). */
  rootdir(path: string, options: { rw?: boolean } = {}): this {
    this.settings.rootdir = { path, rw: options.rw ?? false };
    return this;
  }

  /** The uid the command runs as inside. */
  uid(id: number): this {
    this.settings.uid = checkCount("uid", id, 0, 0xfffffffe);
    return this;
  }

  /** The gid the command runs as inside. */
  gid(id: number): this {
    this.settings.gid = checkCount("gid", id, 0, 0xfffffffe);
    return this;
  }

  /**
   * The supplementary groups the command runs with (gids inside, at most
   * 64); `groups()` with none runs it with no supplementary group. Every
   * gid must be in the gid map, and the sandbox must be able to call
   * setgroups: as root, or under a gid map that newgidmap writes (ranges
   * /etc/subgid grants, e.g. `.gidMap(0, gid).gidMap(1, 100000, 65536)`).
   * An unprivileged caller's own single gid map denies setgroups: a
   * non-empty list is then an error when the command is planned.
   *
   * @example
   * ```ts ignore
   * import { Container } from "jsr:@hakoniwa/cli";
   * // As root: uid 0 inside, in groups 10 and 27 (each the same group on the host).
   * const out = await new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib")
   *   .uid(0).gid(0).groups(10, 27)
   *   .command("id", { args: ["-G"] }).output();
   * console.log(new TextDecoder().decode(out.stdout)); // "0 10 27\n"
   * ```
   */
  groups(...gids: number[]): this {
    this.settings.groups = checkGroups("groups", gids);
    this.settings.groupsOptional = false;
    return this;
  }

  /**
   * Runs the command as `USER[:GROUP[:GROUP,...]]`, names or numbers, as
   * 1.x's `--user`: names are looked up in the /etc/passwd and /etc/group of
   * `root` (the host directory that becomes the sandbox's root) when it has
   * them, else the host's. `USER:GROUP:GROUP,...` gives exactly those
   * supplementary groups, `USER:GROUP` none, and a lone `USER` its primary
   * group and every group that lists it as a member, which are left out
   * with a warning where the sandbox cannot set groups (see
   * {@link Container.groups} for where it can).
   *
   * @example
   * ```ts ignore
   * import { Container } from "jsr:@hakoniwa/cli";
   * // As root: nobody, with the groups the host's /etc/group gives it.
   * const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").user("nobody");
   * console.log(c.settings.uid); // 65534
   * ```
   */
  user(spec: string, root: string | null = null): this {
    const u = resolveUser(spec, userFilesOf(root));
    this.uid(u.uid).gid(u.gid);
    this.settings.groups = u.groups;
    this.settings.groupsOptional = u.implied;
    return this;
  }

  /**
   * 1.x's `--userns auto`: the caller is 0 inside, and 1 onwards the first
   * range /etc/subuid (and /etc/subgid for gids) grants it, by name or uid;
   * a caller without a line gets only its own id as 0. Replaces the id maps.
   * Rootless, newuidmap and newgidmap write them (Debian package `uidmap`).
   *
   * @example
   * ```ts ignore
   * import { Container } from "jsr:@hakoniwa/cli";
   * const c = new Container().userns("auto");
   * console.log(c.settings.uidMaps[0]); // { container: 0, host: <your uid>, count: 1 }
   * ```
   */
  userns(mode: "auto"): this {
    if (mode !== "auto") throw new UsageError(`userns: expected "auto", got ${JSON.stringify(mode)}`, "userns");
    const auto = autoIdMaps();
    this.settings.uidMaps = auto.uidMaps;
    this.settings.gidMaps = auto.gidMaps;
    return this;
  }

  /**
   * Leaves `no_new_privs` unset for the command (1.x's
   * `--allow-new-privs`): `/proc/self/status` shows `NoNewPrivs: 0`, and an
   * exec may take the transitions an LSM (SELinux, AppArmor) allows.
   * Nothing else changes: every mount is still nosuid (set-uid bits and
   * file capabilities are ignored), the guard still refuses set-id files,
   * no capability is left, and Landlock and seccomp still apply (they are
   * loaded before the credentials change, which then runs under the
   * filter: a profile refusing those calls is an error when planned).
   *
   * @example
   * ```ts ignore
   * import { Container } from "jsr:@hakoniwa/cli";
   * const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").allowNewPrivs();
   * const out = await c.command("grep", { args: ["NoNewPrivs", "/proc/self/status"] }).output();
   * console.log(new TextDecoder().decode(out.stdout)); // "NoNewPrivs:\t0\n"
   * ```
   */
  allowNewPrivs(on = true): this {
    this.settings.allowNewPrivs = on;
    return this;
  }

  /** Adds a uid map range (inside -> host). */
  uidMap(container: number, host: number, count = 1): this {
    this.settings.uidMaps.push({ container, host, count });
    return this;
  }

  /** Adds a gid map range (inside -> host). */
  gidMap(container: number, host: number, count = 1): this {
    this.settings.gidMaps.push({ container, host, count });
    return this;
  }

  /** Sets the hostname (needs the uts namespace). */
  hostname(name: string): this {
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(name)) {
      throw new UsageError(`hostname: expected 1 to 63 letters, digits, '.' or '-', got ${JSON.stringify(name)}`);
    }
    this.settings.hostname = name;
    return this;
  }

  /** Creates a new namespace of this kind. */
  unshare(ns: Namespace): this {
    this.settings.unshare.add(ns);
    return this;
  }

  /** Shares the caller's namespace of this kind (user, mount and pid are always new). */
  share(ns: Namespace): this {
    if (REQUIRED_NAMESPACES.includes(ns)) {
      throw new UsageError(`the ${ns} namespace is always new and cannot be shared`);
    }
    this.settings.unshare.delete(ns);
    return this;
  }

  /** Sets a resource limit (setrlimit, soft = hard): `as`, `core`, `cpu`, `fsize`, `nofile` or `nproc`. */
  rlimit(name: RlimitName, value: number): this {
    if (!isRlimitName(name)) throw new UsageError(`unknown limit ${JSON.stringify(name)}`);
    this.settings.rlimits.set(name, checkCount(`limit ${name}`, value));
    return this;
  }

  /** The same as {@link Container.rlimit} (its earlier name). */
  limit(name: RlimitName, value: number): this {
    return this.rlimit(name, value);
  }

  /**
   * Limits the memory of the whole sandbox, swap counted, in its own cgroup: bytes, or a size such as `"64M"`.
   * A process killed for it makes the status `MLE`. Rootless it needs a delegated cgroup (README, "Resource
   * control").
   *
   * @example
   * ```ts ignore
   * const out = await new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").limitMemory("64M")
   *   .command("/usr/bin/python3", { args: ["-c", "bytearray(200 << 20)"] }).output();
   * console.log(out.status); // "MLE"
   * ```
   */
  limitMemory(size: number | string): this {
    (this.settings.cgroup ??= {}).memory = checkSize("limitMemory", size, 1 << 20);
    return this;
  }

  /**
   * Limits the CPU bandwidth of the whole sandbox to `cpus` CPUs (0.5: half of one CPU's time), in its cgroup.
   *
   * @example
   * ```ts ignore
   * new Container().limitCpus(0.5);
   * ```
   */
  limitCpus(cpus: number): this {
    if (!Number.isFinite(cpus) || cpus < 0.01 || cpus > 1024) {
      throw new UsageError(`limitCpus: expected a number of CPUs from 0.01 to 1024, got ${cpus}`, "limitCpus");
    }
    (this.settings.cgroup ??= {}).cpus = cpus;
    return this;
  }

  /**
   * Limits the number of processes of the whole sandbox (its init aside), in its cgroup: a fork bomb stops there.
   *
   * @example
   * ```ts ignore
   * new Container().limitPids(64);
   * ```
   */
  limitPids(count: number): this {
    (this.settings.cgroup ??= {}).pids = checkCount("limitPids", count, 1, 4_194_304);
    return this;
  }

  /**
   * Makes the sandbox's cgroup beneath this cgroup path instead of the caller's own cgroup: absolute, as
   * /proc/self/cgroup spells it, or relative to the caller's own cgroup (a subtree delegated to the caller
   * there). `HAKONIWA_CGROUP_PARENT` sets it for the CLI.
   *
   * @example
   * ```ts ignore
   * new Container().cgroupParent("/hakoniwa-delegated").limitMemory("256M");
   * ```
   */
  cgroupParent(path: string): this {
    if (typeof path !== "string" || !path || path.split("/").includes("..") || path.includes("\0")) {
      throw new UsageError(`cgroupParent: expected a cgroup path without "..", got ${JSON.stringify(path)}`);
    }
    (this.settings.cgroup ??= {}).parent = path;
    return this;
  }

  /** Kills the whole sandbox after `seconds` of wall-clock time. */
  walltime(seconds: number): this {
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 31_536_000) {
      throw new UsageError(`walltime: expected seconds above 0 and at most a year, got ${seconds}`);
    }
    this.settings.walltime = seconds;
    return this;
  }

  /** Sets an environment variable of the command. */
  env(name: string, value: string): this {
    if (!name || name.includes("=") || name.includes("\0") || value.includes("\0")) {
      throw new UsageError(`env: invalid variable ${JSON.stringify(name)}`);
    }
    this.settings.env.set(name, value);
    return this;
  }

  /** The working directory inside. */
  workdir(path: string): this {
    this.settings.workdir = path;
    return this;
  }

  /**
   * Network mode: `none` (new namespace, `lo` up), `host` (shares the
   * host's) or `pasta` with pasta(1) options.
   *
   * @example
   * ```ts ignore
   * new Container().network("pasta", ["-T", "8080"]);
   * ```
   */
  network(mode: NetworkMode, options: string[] = []): this {
    this.settings.network = checkNetwork({ mode, options }, "network");
    if (mode === "host") this.share("network");
    else this.unshare("network");
    return this;
  }

  /**
   * Lets the command connect to these hosts only (Deno's `--allow-net` spelling: `NAME`, `*.NAME` for its
   * subdomains, `IPv4` or `[IPv6]`, each with an optional `:PORT`; commas separate several in one string). The
   * sandbox keeps its own network namespace with only `lo`; HTTP (`HTTP_PROXY`), HTTPS (`HTTPS_PROXY`, CONNECT)
   * and SOCKS5 (`ALL_PROXY`) go through a proxy this process runs, which decides by the name asked for,
   * resolves it here, refuses addresses that are not public unless an entry lists them, and reports every refused
   * connection (`report.netRefused`). Needs the network namespace unshared (the default of `new Container()`),
   * and `--allow-net --allow-write` for the proxy's socket in the caller's temp directory. Throws a `UsageError`
   * naming `allowNet` for a malformed entry.
   *
   * @example
   * ```ts ignore
   * import { kissContainer } from "jsr:@hakoniwa/cli";
   * const out = await kissContainer().allowNet("registry.npmjs.org:443")
   *   .command("curl", { args: ["-sI", "https://registry.npmjs.org/"] }).output();
   * console.log(out.report.netRefused); // []
   * ```
   */
  allowNet(...hosts: string[]): this {
    const rules = hosts.flatMap((h) => parseAllowNet(h, "allowNet"));
    this.settings.allowNet = [...(this.settings.allowNet ?? []), ...rules];
    return this;
  }

  /** Restricts Landlock resources (`fs`, `tcp.bind`, `tcp.connect`, `scope.abstract-unix-socket`, `scope.signal`). */
  landlockRestrict(...resources: LandlockResource[]): this {
    const ll = landlockOf(this.settings);
    for (const r of resources) {
      const name = parseResource(r, "landlock restrict");
      ll.unrestricted = ll.unrestricted.filter((u) => u !== name);
      if (!ll.restrict.includes(name)) ll.restrict.push(name);
    }
    return this;
  }

  /** Leaves a Landlock resource unrestricted (it may then have no rules). */
  landlockUnrestrict(resource: LandlockResource): this {
    const ll = landlockOf(this.settings);
    const name = parseResource(resource, "landlock unrestrict");
    ll.restrict = ll.restrict.filter((r) => r !== name);
    if (!ll.unrestricted.includes(name)) ll.unrestricted.push(name);
    return this;
  }

  /** Allows `access` (`r`, `w`, `x` letters, e.g. `"rx"`) beneath a sandbox path; implies restricting `fs`. */
  landlockFs(path: string, access: string): this {
    if (!path.startsWith("/") || path.split("/").includes("..") || path.includes("\0")) {
      throw new UsageError(`landlock fs: expected an absolute path without '..', got ${JSON.stringify(path)}`);
    }
    landlockOf(this.settings).paths.push({ path, access: parseFsAccess(access, `landlock fs ${path}`) });
    return this;
  }

  /** Allows binding TCP `port`; implies restricting `tcp.bind`. */
  landlockTcpBind(port: number): this {
    landlockOf(this.settings).ports.push({ access: "tcp.bind", port: parsePort(port, "landlock tcp.bind") });
    return this;
  }

  /** Allows connecting to TCP `port`; implies restricting `tcp.connect`. */
  landlockTcpConnect(port: number): this {
    landlockOf(this.settings).ports.push({ access: "tcp.connect", port: parsePort(port, "landlock tcp.connect") });
    return this;
  }

  /** Runs with what the kernel's Landlock can enforce when it cannot enforce everything (logged). */
  landlockBestEffort(on = true): this {
    landlockOf(this.settings).bestEffort = on;
    return this;
  }

  /** Uses at most Landlock ABI `abi`, as an older kernel would offer. */
  landlockAbi(abi: number): this {
    landlockOf(this.settings).maxAbi = checkCount("landlock ABI", abi, 0, 1000);
    return this;
  }

  /**
   * A command running `program` in this container, shaped like
   * `Deno.Command`: `output()` runs it and collects its output, `spawn()`
   * starts it. The settings are copied now; later changes to this container
   * do not affect the command.
   */
  command(program: string, options?: CommandOptions): Command {
    return new Command(this.settings, program, options);
  }

  /**
   * The seccomp profile (see src/seccomp/profile.ts), or null to run unconfined.
   *
   * @example
   * ```ts ignore
   * new Container().seccomp(defaultProfile({ noNamespaces: true }));
   * ```
   */
  seccomp(profile: SeccompProfile | null): this {
    this.settings.seccomp = profile;
    return this;
  }
}
