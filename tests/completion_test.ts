// Integration tests of `hakoniwa completion`: each script loaded in its real shell (bash, zsh, fish, elvish; zsh and
// elvish complete only interactively, so they run in a tmux pane), asked for subcommands, flags and file names.
// PowerShell is not packaged for Debian: its script is parsed with tree-sitter's PowerShell grammar and checked
// against the documented native-completer API instead. Then `completion -f FILE`.
import assert from "node:assert/strict";
import { Language, type Node, Parser } from "web-tree-sitter";
import { RUN_FLAGS } from "../src/cli/flags.ts";
import { CLI_SH, hakoniwa, IS_ROOT, ROOT, tempDir, waitFor } from "./helpers.ts";

function has(program: string): boolean {
  return ["/usr/bin", "/bin"].some((d) => {
    try {
      return Deno.statSync(`${d}/${program}`).isFile;
    } catch {
      return false;
    }
  });
}

const dec = new TextDecoder();
/** What completing `run --uns` must offer: every --unshare-* flag of the table, nothing else. */
const UNSHARE = RUN_FLAGS.map((f) => `--${f.name}`).filter((n) => n.startsWith("--uns")).sort();
const SUBCOMMANDS = ["check", "completion", "explain", "help", "run"];
const KISS = `${ROOT}/policies/KISS-policy.toml`;

/** Types into an interactive shell in a tmux pane; `screen()` reads the pane. */
async function tmuxShell(
  command: string,
  fn: (type: (...keys: string[]) => Promise<void>, screen: () => Promise<string>) => Promise<void>,
) {
  const session = `hkcompl${Deno.pid}${Math.floor(Math.random() * 1e6)}`;
  const tmux = (...args: string[]) => new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  await tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "30", command);
  try {
    const screen = async () => dec.decode((await tmux("capture-pane", "-p", "-t", session)).stdout);
    assert.ok(await waitFor(async () => (await screen()).startsWith(">"), 10_000), `no prompt: ${await screen()}`);
    await fn(async (...keys) => void await tmux("send-keys", "-t", session, ...keys), screen);
  } finally {
    await tmux("kill-session", "-t", session);
  }
}

Deno.test("completion bash: subcommands, run --uns, file names, the shells, -f's file", async () => {
  const line = (words: string) => {
    const w = words.split(" ");
    return `COMP_WORDS=(${w.map((x) => `'${x}'`).join(" ")}); COMP_CWORD=${w.length - 1}; _hakoniwa; ` +
      `printf '%s\\n' "\${COMPREPLY[*]}"`;
  };
  const script = [
    `source <(${CLI_SH} completion bash) || exit 9`,
    "complete -p hakoniwa >/dev/null || exit 8",
    line("hakoniwa "),
    line("hakoniwa ex"),
    line("hakoniwa run --uns"),
    line("hakoniwa run --ro-b"),
    line(`hakoniwa run --policy-file ${ROOT}/policies/KISS`),
    line("hakoniwa completion "),
    line(`hakoniwa completion -f ${ROOT}/policies/KISS`),
  ].join("\n");
  const out = await new Deno.Command("bash", { args: ["-c", script] }).output();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const lines = dec.decode(out.stdout).split("\n");
  assert.deepEqual(lines[0].split(" ").sort(), [...SUBCOMMANDS, "--help", "--version"].sort());
  assert.deepEqual(lines.slice(1, 3), ["explain", UNSHARE.join(" ")]);
  assert.deepEqual(lines.slice(3, 5), ["--ro-bind", KISS]);
  assert.deepEqual(lines.slice(5, 7), ["bash zsh fish elvish powershell", KISS]);
});

Deno.test("completion zsh: loads with compinit and completes subcommands, run --uns and file names", async () => {
  if (!has("zsh") || !has("tmux")) return console.log("zsh or tmux is not installed: the zsh script was not loaded");
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/hk.zsh`, (await hakoniwa(["completion", "zsh"])).stdout);
    await Deno.writeTextFile(
      `${dir}/.zshrc`,
      `autoload -Uz compinit && compinit -u -d ${dir}/zcomp\nsource ${dir}/hk.zsh\nPS1='> '\n`,
    );
    await tmuxShell(`env ZDOTDIR=${dir} zsh -i`, async (type, screen) => {
      await type("hakoniwa ex", "Tab");
      assert.ok(await waitFor(async () => (await screen()).startsWith("> hakoniwa explain")), await screen());
      // The first Tab inserts the common prefix, the second lists the candidates under the line.
      await type("C-u", "hakoniwa run --uns", "Tab");
      assert.ok(await waitFor(async () => (await screen()).startsWith("> hakoniwa run --unshare-")), await screen());
      await type("Tab");
      assert.ok(
        await waitFor(async () => {
          const s = await screen();
          return s.startsWith("> hakoniwa run --unshare-") && UNSHARE.every((f) => s.includes(f));
        }),
        await screen(),
      );
      await type("C-u", `hakoniwa run --policy-file ${ROOT}/policies/KISS`, "Tab");
      assert.ok(await waitFor(async () => (await screen()).startsWith(`> hakoniwa run --policy-file ${KISS}`)));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("completion fish: subcommands, run --uns, file names", async () => {
  if (!has("fish")) return console.log("fish is not installed: the fish script was not loaded");
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/hk.fish`, (await hakoniwa(["completion", "fish"])).stdout);
    const ask = async (line: string) => {
      const out = await new Deno.Command("fish", {
        args: ["--no-config", "-c", `source ${dir}/hk.fish; complete -C"${line}"`],
        env: { HOME: dir },
      }).output();
      assert.equal(out.code, 0, dec.decode(out.stderr));
      return dec.decode(out.stdout).trim().split("\n").map((l) => l.split("\t")[0]);
    };
    assert.deepEqual((await ask("hakoniwa ")).sort(), SUBCOMMANDS);
    assert.deepEqual(await ask("hakoniwa ex"), ["explain"]);
    assert.deepEqual((await ask("hakoniwa run --uns")).sort(), UNSHARE);
    assert.deepEqual(await ask(`hakoniwa run --policy-file ${ROOT}/policies/KISS`), [KISS]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("completion elvish: `use` from lib/, the completer's candidates, and Tab in an interactive elvish", async () => {
  if (!has("elvish") || !has("tmux")) {
    return console.log("elvish or tmux is not installed: the elvish script was not loaded");
  }
  const dir = await tempDir();
  try {
    const written = await hakoniwa(["completion", "-f", `${dir}/.config/elvish/lib/hakoniwa.elv`, "elvish"]);
    assert.equal(written.code, 0, written.stderr);
    await Deno.writeTextFile(
      `${dir}/.config/elvish/rc.elv`,
      "use hakoniwa\nset edit:prompt = { put '> ' }\nset edit:rprompt = { put '' }\n",
    );
    // The completer puts every candidate; elvish's matcher keeps those with the word's prefix.
    const ask = (file: string, words: string) => `c ${words} | to-lines > ${dir}/${file}`;
    const fn = "fn c {|@w| $edit:completion:arg-completer[hakoniwa] hakoniwa $@w | each {|x| " +
      "if (eq (kind-of $x) string) { put $x } else { put $x[stem] } } }";
    const env = `env HOME=${dir} XDG_CONFIG_HOME=${dir}/.config XDG_DATA_HOME=${dir}/.local/share`;
    await tmuxShell(`${env} elvish`, async (type, screen) => {
      const asks = [
        ask("top", "''"),
        ask("uns", "run --uns"),
        ask("files", `run --policy-file ${ROOT}/policies/KISS`),
        ask("shells", "completion ''"),
        ask("value", "run --hostname ''"),
      ];
      await type([fn, ...asks, "echo asked"].join("; "), "Enter");
      assert.ok(await waitFor(async () => (await screen()).includes("\nasked")), await screen());
      await type("hakoniwa ex", "Tab");
      assert.ok(await waitFor(async () => (await screen()).includes("> hakoniwa explain")), await screen());
      await type("C-u", "hakoniwa run --ro-b", "Tab");
      assert.ok(await waitFor(async () => (await screen()).includes("> hakoniwa run --ro-bind")), await screen());
    });
    const read = (f: string, prefix: string) =>
      Deno.readTextFileSync(`${dir}/${f}`).split("\n").filter((l) => l !== "" && l.startsWith(prefix)).sort();
    assert.deepEqual(read("top", ""), [...SUBCOMMANDS, "--help", "--version"].sort());
    assert.deepEqual(read("uns", "--uns"), UNSHARE);
    assert.deepEqual(read("files", `${ROOT}/policies/KISS`), [KISS]);
    assert.deepEqual(read("shells", ""), ["bash", "elvish", "fish", "powershell", "zsh"]);
    assert.deepEqual(read("value", ""), [], "a flag's value that is no file: nothing offered");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every node of a tree-sitter tree, depth first. */
function* nodes(n: Node): Generator<Node> {
  yield n;
  for (const c of n.children) if (c) yield* nodes(c);
}

Deno.test("completion powershell: parses as PowerShell and uses the documented native-completer API", async () => {
  // pwsh is not in Debian: tree-sitter's PowerShell grammar (npm: tree-sitter-powershell) parses the script.
  await Parser.init();
  const grammar = `${ROOT}/node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm`;
  const parser = new Parser();
  parser.setLanguage(await Language.load(grammar));
  const text = (await hakoniwa(["completion", "powershell"])).stdout;
  const tree = parser.parse(text)!;
  assert.equal(tree.rootNode.hasError, false, "no syntax error");
  assert.equal(parser.parse(text.replace(/}\s*$/, ""))!.rootNode.hasError, true, "the grammar does see errors");
  const all = [...nodes(tree.rootNode)];
  // Register-ArgumentCompleter -Native -CommandName 'hakoniwa' -ScriptBlock { param($wordToComplete, ...) ... }
  const register = all.filter((n) =>
    n.type === "command" && n.childForFieldName("command_name")?.text ===
      "Register-ArgumentCompleter"
  );
  assert.equal(register.length, 1);
  const elements = register[0].childForFieldName("command_elements")!.children.filter((c) =>
    c && c.type !== "command_argument_sep"
  ).map((c) => c!.text);
  assert.deepEqual(elements.slice(0, 4), ["-Native", "-CommandName", "'hakoniwa'", "-ScriptBlock"]);
  assert.match(elements[4], /^\{\s*param\(/);
  const params = all.filter((n) => n.type === "param_block");
  assert.equal(params.length, 1);
  assert.deepEqual(
    [...nodes(params[0])].filter((n) => n.type === "variable").map((n) => n.text),
    ["$wordToComplete", "$commandAst", "$cursorPosition"],
  );
  // CompletionResult(completionText, listItemText, resultType, toolTip), with a CompletionResultType member.
  const results = all.filter((n) =>
    n.type === "invokation_expression" && n.text.startsWith("[System.Management.Automation.CompletionResult]::new(")
  );
  assert.equal(results.length, 1);
  const args = [...nodes(results[0])].filter((n) => n.type === "argument_expression");
  assert.equal(args.length, 4);
  const types = [...text.matchAll(/\$type = '(\w+)'/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(types)].sort(), ["ParameterName", "ParameterValue"]);
  assert.match(text, /\$commandAst\.CommandElements/);
  assert.match(text, /\$_\.Extent\.EndOffset -lt \$cursorPosition/);
  // The tables: every flag of run (with -h/--help) and every subcommand, each with a tooltip (one must not be empty).
  const runTable = /\n {8}'run' = @\(\n([\s\S]*?)\n {8}\)/.exec(text)![1];
  const names = [...runTable.matchAll(/n = '([^']*)'; k = '(|value|file)'; d = '([^']+)'/g)].map((m) => m[1]);
  const expected = RUN_FLAGS.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
  assert.deepEqual(names.sort(), [...expected, "--help", "-h"].sort());
  for (const s of SUBCOMMANDS) assert.match(text, new RegExp(`\\n {8}@\\{ n = '${s}'; k = ''; d = '[^']+' \\}`));
});

Deno.test("completion -f FILE: written with its directories made; said where; never through a planted link", async () => {
  const dir = await tempDir();
  try {
    const target = `${dir}/a/b/hakoniwa.bash`;
    const r = await hakoniwa(["completion", "-f", target, "bash"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `wrote the bash completion to ${target}\n`);
    assert.equal(await Deno.readTextFile(target), (await hakoniwa(["completion", "bash"])).stdout);
    // Again, with the long form: the file is replaced, nothing else is left in the directory.
    assert.equal((await hakoniwa(["completion", "--file", target, "fish"])).code, 0);
    assert.match(await Deno.readTextFile(target), /^# fish completion/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name), ["hakoniwa.bash"]);
    // A link at FILE is not followed (nor replaced); the file it points to is untouched.
    await Deno.writeTextFile(`${dir}/victim`, "keep\n");
    await Deno.symlink(`${dir}/victim`, `${dir}/link`);
    const link = await hakoniwa(["completion", "-f", `${dir}/link`, "bash"]);
    assert.equal(link.code, 2);
    assert.match(link.stderr, /^hakoniwa: --file: cannot write .*\/link: .*is a symbolic link/);
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "keep\n");
    // A directory, a path through a file: one line naming --file, exit 2.
    for (const bad of [dir, `${dir}/victim/x`]) {
      const e = await hakoniwa(["completion", "-f", bad, "bash"]);
      assert.equal(e.code, 2, bad);
      assert.match(e.stderr, /^hakoniwa: --file: cannot write [^\n]+\n$/);
    }
    if (IS_ROOT) {
      // A link on the way that another user owns (as one planted in /tmp would be) is refused.
      await Deno.mkdir(`${dir}/elsewhere`);
      await Deno.symlink(`${dir}/elsewhere`, `${dir}/planted`);
      const chown = await new Deno.Command("chown", { args: ["-h", "65534:65534", `${dir}/planted`] }).output();
      assert.ok(chown.success);
      const planted = await hakoniwa(["completion", "-f", `${dir}/planted/hakoniwa.bash`, "bash"]);
      assert.equal(planted.code, 2);
      assert.match(planted.stderr, /planted is a symbolic link of uid 65534, not yours or root's: not following it/);
      assert.deepEqual([...Deno.readDirSync(`${dir}/elsewhere`)], []);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
