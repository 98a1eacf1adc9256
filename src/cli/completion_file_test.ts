import assert from "node:assert/strict";
import { type FileSystemView, prepareCompletionPath } from "./completion_file.ts";

/** A file system of paths: "d" directory, "f" file, "l:UID" a link to a directory owned by UID. */
function fakeFs(entries: Record<string, string>, uid = 1000): FileSystemView & { made: string[] } {
  const made: string[] = [];
  return {
    uid,
    made,
    lstat(path) {
      const e = entries[path];
      if (e === undefined) return null;
      return {
        isSymlink: e.startsWith("l:"),
        isDirectory: e === "d",
        uid: e.startsWith("l:") ? Number(e.slice(2)) : uid,
      };
    },
    mkdir(path) {
      if (entries[path] !== undefined) throw new Deno.errors.AlreadyExists(path);
      entries[path] = "d";
      made.push(path);
    },
  };
}

Deno.test("prepareCompletionPath makes the missing directories one by one", () => {
  const fs = fakeFs({ "/home": "d", "/home/u": "d" });
  assert.equal(
    prepareCompletionPath("/home/u/.config/fish/completions/hakoniwa.fish", fs),
    "/home/u/.config/fish/completions/hakoniwa.fish",
  );
  assert.deepEqual(fs.made, ["/home/u/.config", "/home/u/.config/fish", "/home/u/.config/fish/completions"]);
});

Deno.test("prepareCompletionPath follows the caller's and root's links, refuses another user's", () => {
  const own = fakeFs({ "/home": "d", "/home/u": "d", "/home/u/.config": "l:1000", "/var": "d", "/var/run": "l:0" });
  assert.equal(prepareCompletionPath("/home/u/.config/x", own), "/home/u/.config/x");
  assert.equal(prepareCompletionPath("/var/run/x", own), "/var/run/x");
  const planted = fakeFs({ "/tmp": "d", "/tmp/dir": "l:1002" });
  assert.throws(
    () => prepareCompletionPath("/tmp/dir/hakoniwa.bash", planted),
    /\/tmp\/dir is a symbolic link of another user \(uid 1002\): not following it/,
  );
  assert.deepEqual(planted.made, []);
  // Made meanwhile by someone else (mkdir finds it there): checked like the rest.
  const raced = fakeFs({ "/tmp": "d" });
  raced.mkdir = (p) => {
    throw new Deno.errors.AlreadyExists(p);
  };
  const lstat = raced.lstat;
  let calls = 0;
  raced.lstat = (p) => p === "/tmp/new" && calls++ > 0 ? { isSymlink: true, isDirectory: false, uid: 1002 } : lstat(p);
  assert.throws(() => prepareCompletionPath("/tmp/new/f", raced), /of another user/);
});

Deno.test("prepareCompletionPath refuses a link at the file itself, a directory, a path through a file", () => {
  const fs = fakeFs({ "/d": "d", "/d/link": "l:1000", "/d/file": "f", "/d/sub": "d" });
  assert.throws(() => prepareCompletionPath("/d/link", fs), /is a symbolic link: not replacing it/);
  assert.throws(() => prepareCompletionPath("/d/sub", fs), Deno.errors.IsADirectory);
  assert.throws(() => prepareCompletionPath("/d/file/x", fs), Deno.errors.NotADirectory);
  assert.throws(() => prepareCompletionPath("/", fs), /is a directory/);
  assert.equal(prepareCompletionPath("/d/./sub/../file", fs), "/d/file");
});
