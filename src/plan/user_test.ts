// Unit tests of USER[:GROUP[:GROUP,...]] resolution, through a root tree's files or the host's.
import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import { resolveUser, type UserFiles, userFilesOf } from "./user.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\nguest:x:405:100::/dev/null:/bin/sh\n";
const GROUP = "root:x:0:root\nbin:x:1:root,bin,daemon\nwheel:x:10:root\nvideo:x:27:root\nusers:x:100:games\n";

async function tree(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/etc`);
  await Deno.writeTextFile(`${dir}/etc/passwd`, PASSWD);
  await Deno.writeTextFile(`${dir}/etc/group`, GROUP);
  return dir;
}

Deno.test("a lone USER gets its primary group and every group listing it; USER:GROUP none; a list exactly it", async () => {
  const dir = await tree();
  try {
    const files = userFilesOf(dir);
    assert.deepEqual([files.passwd, files.group], [`${dir}/etc/passwd`, `${dir}/etc/group`]);
    assert.deepEqual(resolveUser("root", files), { uid: 0, gid: 0, groups: [0, 1, 10, 27], implied: true });
    assert.deepEqual(resolveUser("guest", files), { uid: 405, gid: 100, groups: [100], implied: true });
    assert.deepEqual(resolveUser("root:root", files), { uid: 0, gid: 0, groups: [], implied: false });
    assert.deepEqual(resolveUser("root:root:wheel,video", files), {
      uid: 0,
      gid: 0,
      groups: [10, 27],
      implied: false,
    });
    assert.deepEqual(resolveUser("1:wheel:27,5", files).groups, [27, 5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unknown names, malformed specs and too many groups are usage errors naming the flag", async () => {
  const dir = await tree();
  try {
    const files = userFilesOf(dir);
    assert.throws(() => resolveUser("nobody-hk", files, "--user"), /^UsageError: --user: no user "nobody-hk" in /);
    assert.throws(() => resolveUser("root:root:nosuch", files, "--user"), /--user: no group "nosuch"/);
    assert.throws(() => resolveUser("root::wheel", files, "--user"), /expected USER\[:GROUP\[:GROUP,\.\.\.\]\]/);
    assert.throws(() => resolveUser("root:root:a,,b", files, "--user"), UsageError);
    assert.throws(() => resolveUser("4242", files, "--user"), /uid 4242 has no entry in .*: give the group/);
    const many = Array.from({ length: 65 }, (_, i) => i + 1000).join(",");
    assert.throws(() => resolveUser(`root:root:${many}`, files, "--user"), /--user: at most 64 supplementary groups/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tree without the files falls back to the host's, one file at a time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const paths = (f: UserFiles) => [f.passwd, f.group];
    assert.deepEqual(paths(userFilesOf(dir)), ["/etc/passwd", "/etc/group"]);
    await Deno.mkdir(`${dir}/etc`);
    await Deno.writeTextFile(`${dir}/etc/group`, GROUP);
    assert.deepEqual(paths(userFilesOf(dir)), ["/etc/passwd", `${dir}/etc/group`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Container.user resolves in the root tree's files and keeps implied groups optional; userns('auto')", async () => {
  const { Container } = await import("../container.ts");
  const dir = await tree();
  try {
    const lone = Container.empty().user("root", dir).settings;
    assert.deepEqual([lone.uid, lone.gid, lone.groups, lone.groupsOptional], [0, 0, [0, 1, 10, 27], true]);
    const given = Container.empty().user("guest:users:wheel", dir).settings;
    assert.deepEqual([given.uid, given.gid, given.groups, given.groupsOptional], [405, 100, [10], false]);
    assert.throws(() => Container.empty().user("guest", null), /^UsageError: user: no user "guest" in \/etc\/passwd/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const auto = Container.empty().uidMap(5, 5).userns("auto").settings;
  assert.deepEqual(auto.uidMaps[0], { container: 0, host: Deno.uid(), count: 1 }, "the maps are replaced");
  assert.deepEqual(auto.gidMaps[0], { container: 0, host: Deno.gid(), count: 1 });
  assert.throws(() => Container.empty().userns("manual" as "auto"), /^UsageError: userns: expected "auto"/);
});

Deno.test("a tree's passwd that other users can write names nobody: only ids given as numbers resolve", async () => {
  const dir = await tree();
  try {
    await Deno.chmod(`${dir}/etc/passwd`, 0o666);
    const files = userFilesOf(dir);
    assert.throws(
      () => resolveUser("root", files, "--user"),
      /^UsageError: --user: .*\/etc\/passwd can be written by other users \(mode 0666\): its names are not taken/,
    );
    assert.throws(() => resolveUser("0", files, "--user"), /its names are not taken/); // its gid would come from it
    assert.deepEqual(resolveUser("0:0", files, "--user"), { uid: 0, gid: 0, groups: [], implied: false });
    await Deno.chmod(`${dir}/etc/passwd`, 0o644);
    await Deno.chmod(`${dir}/etc`, 0o777);
    assert.throws(() => resolveUser("root", userFilesOf(dir), "--user"), /in a directory other users can write/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a tree's passwd that is a FIFO, or a link out of the tree, is an error, never a hang or the host's", async () => {
  const dir = await tree();
  try {
    await Deno.remove(`${dir}/etc/passwd`);
    const mk = await new Deno.Command("mkfifo", { args: [`${dir}/etc/passwd`] }).output();
    assert.ok(mk.success);
    assert.throws(() => resolveUser("root", userFilesOf(dir), "--user"), /is not a regular file \(a FIFO\)/);
    await Deno.remove(`${dir}/etc/passwd`);
    await Deno.symlink("/etc/passwd", `${dir}/etc/passwd`);
    assert.throws(() => resolveUser("root", userFilesOf(dir), "--user"), /is a symbolic link: not following it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
