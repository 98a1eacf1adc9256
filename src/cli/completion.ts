/**
 * Shell completion scripts for bash, zsh, fish, elvish and PowerShell,
 * generated from the same flag tables as the parser (`src/cli/flags.ts`):
 * subcommands, their flags, file names for flags whose value is a host path,
 * and the words a positional argument may take.
 *
 * @module
 */
import type { FlagSpec } from "./flags.ts";

export { type Shell, SHELLS } from "./shells.ts";
import type { Shell } from "./shells.ts";

/**
 * A subcommand as completion sees it.
 *
 * @example
 * ```ts
 * import type { CompletionCommand } from "./completion.ts";
 * const check: CompletionCommand = { name: "check", brief: "validate policy files", flags: [], words: "files" };
 * console.log(check.name);
 * ```
 */
export interface CompletionCommand {
  /** The subcommand's name. */
  name: string;
  /** One line of description. */
  brief: string;
  /** Its flags (`--help` is added). */
  flags: readonly FlagSpec[];
  /** What its positional arguments are: file names, or one of a list of words. */
  words: "files" | readonly string[];
}

interface Flag {
  long: string;
  short?: string;
  value: boolean;
  files: boolean;
  brief: string;
}

const HELP: Flag = { long: "--help", short: "-h", value: false, files: false, brief: "show help" };

function flagsOf(c: CompletionCommand): Flag[] {
  return [
    ...c.flags.map((f) => ({
      long: `--${f.name}`,
      short: f.short ? `-${f.short}` : undefined,
      value: f.value !== undefined,
      files: f.files === true,
      brief: f.brief,
    })),
    HELP,
  ];
}

const names = (fs: Flag[]) => fs.flatMap((f) => (f.short ? [f.long, f.short] : [f.long]));

function bash(cmds: readonly CompletionCommand[]): string {
  const cases = cmds.map((c) => {
    const fs = flagsOf(c);
    const arms: string[] = [];
    const files = names(fs.filter((f) => f.files));
    const values = names(fs.filter((f) => f.value && !f.files));
    if (files.length) arms.push(`        ${files.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`);
    if (values.length) arms.push(`        ${values.join("|")}) return ;;`);
    const words = c.words === "files" ? `compgen -f -- "$cur"` : `compgen -W "${c.words.join(" ")}" -- "$cur"`;
    return [
      `    ${c.name})`,
      ...(arms.length ? [`      case "$prev" in`, ...arms, `      esac`] : []),
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${names(fs).join(" ")}" -- "$cur"))`,
      `      else COMPREPLY=($(${words})); fi ;;`,
    ].join("\n");
  }).join("\n");
  return `# bash completion for hakoniwa
_hakoniwa() {
  local cur prev sub i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  sub=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) sub="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [[ -z "$sub" ]]; then
    COMPREPLY=($(compgen -W "${cmds.map((c) => c.name).join(" ")} --help --version" -- "$cur"))
    return
  fi
  case "$sub" in
${cases}
  esac
}
complete -o filenames -F _hakoniwa hakoniwa
`;
}

function quote(s: string): string {
  return s.replace(/[\[\]:'"\\]/g, (c) => (c === "'" ? "'\\''" : `\\${c}`));
}

function zsh(cmds: readonly CompletionCommand[]): string {
  const fns = cmds.map((c) => {
    const specs = flagsOf(c).map((f) => {
      const ns = f.short ? [f.short, f.long] : [f.long];
      const action = f.files ? ":file:_files" : f.value ? ":value: " : "";
      const head = ns.length > 1 ? `'(${ns.join(" ")})'{${ns.join(",")}}'` : `'${ns[0]}`;
      return `    ${head}[${quote(f.brief)}]${action}'`;
    });
    const rest = c.words === "files" ? `'*:file:_files'` : `'*:word:(${c.words.join(" ")})'`;
    return `_hakoniwa_${c.name}() {\n  _arguments -s \\\n${specs.join(" \\\n")} \\\n    ${rest}\n}`;
  }).join("\n\n");
  return `#compdef hakoniwa
# zsh completion for hakoniwa
${fns}

_hakoniwa() {
  local -a subcommands
  subcommands=(
${cmds.map((c) => `    '${c.name}:${quote(c.brief)}'`).join("\n")}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' subcommands
    return
  fi
  local sub=\${words[2]}
  shift words; (( CURRENT-- ))
  (( $+functions[_hakoniwa_$sub] )) && _hakoniwa_$sub
}

compdef _hakoniwa hakoniwa
`;
}

function fish(cmds: readonly CompletionCommand[]): string {
  const all = cmds.map((c) => c.name).join(" ");
  const esc = (s: string) => s.replace(/['\\]/g, "\\$&");
  const lines = [
    "# fish completion for hakoniwa",
    "complete -c hakoniwa -f",
    ...cmds.map((c) =>
      `complete -c hakoniwa -n "not __fish_seen_subcommand_from ${all}" -a ${c.name} -d '${esc(c.brief)}'`
    ),
  ];
  for (const c of cmds) {
    const when = `complete -c hakoniwa -n "__fish_seen_subcommand_from ${c.name}"`;
    for (const f of flagsOf(c)) {
      const parts = [when, `-l ${f.long.slice(2)}`];
      if (f.short) parts.push(`-s ${f.short.slice(1)}`);
      if (f.files) parts.push("-r -F");
      else if (f.value) parts.push("-r");
      parts.push(`-d '${esc(f.brief)}'`);
      lines.push(parts.join(" "));
    }
    lines.push(c.words === "files" ? `${when} -F` : `${when} -a '${c.words.join(" ")}'`);
  }
  return lines.join("\n") + "\n";
}

/** The kind of a flag's value, as the elvish and PowerShell scripts' tables say it. */
function kindOf(f: Flag): "" | "value" | "file" {
  return f.files ? "file" : f.value ? "value" : "";
}

/** A single-quoted elvish string: a quote is doubled. */
const elvQuote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/**
 * Elvish: one completer in `edit:completion:arg-completer`, called with the
 * words of the line (the last is the one being completed); it puts the
 * candidates and elvish filters them by prefix. Its tables are data: each
 * subcommand's flags as [name kind brief], kind '' (a switch), 'value' or
 * 'file', and what its arguments are. No `return`: in an anonymous function
 * elvish does not catch it.
 */
function elvish(cmds: readonly CompletionCommand[]): string {
  const flagTable = cmds.map((c) => {
    const rows = flagsOf(c).flatMap((f) =>
      (f.short ? [f.long, f.short] : [f.long]).map((n) =>
        `      [${elvQuote(n)} ${elvQuote(kindOf(f))} ${elvQuote(f.brief)}]`
      )
    );
    return `    &${elvQuote(c.name)}=[\n${rows.join("\n")}\n    ]`;
  });
  const wordTable = cmds.map((c) =>
    `    &${elvQuote(c.name)}=${c.words === "files" ? elvQuote("files") : `[${c.words.map(elvQuote).join(" ")}]`}`
  );
  const commands = cmds.map((c) => `    [${elvQuote(c.name)} ${elvQuote(c.brief)}]`);
  return `# elvish completion for hakoniwa: in rc.elv, eval (hakoniwa completion elvish | slurp)
use str
set edit:completion:arg-completer[hakoniwa] = {|@words|
  var commands = [
${commands.join("\n")}
    ['--help' 'show help']
    ['--version' 'print the version']
  ]
  var flags = [
${flagTable.join("\n")}
  ]
  var args = [
${wordTable.join("\n")}
  ]
  var cur = $words[-1]
  var sub = ''
  for w $words[1..-1] {
    if (not (str:has-prefix $w '-')) { set sub = $w; break }
  }
  var takes = ''
  if (has-key $flags $sub) {
    for f $flags[$sub] { if (eq $f[0] $words[-2]) { set takes = $f[1] } }
  }
  if (eq $sub '') {
    for c $commands { edit:complex-candidate $c[0] &display=$c[0]' ('$c[1]')' }
  } elif (not (has-key $flags $sub)) {
    nop
  } elif (eq $takes 'file') {
    edit:complete-filename $cur
  } elif (eq $takes 'value') {
    nop
  } elif (str:has-prefix $cur '-') {
    for f $flags[$sub] { edit:complex-candidate $f[0] &display=$f[0]' ('$f[2]')' }
  } elif (eq $args[$sub] 'files') {
    edit:complete-filename $cur
  } else {
    for a $args[$sub] { put $a }
  }
}
`;
}

/** A single-quoted PowerShell string: every kind of single quote it knows (', ‘, ’, ‚, ‛) is doubled. */
const psQuote = (s: string) => `'${s.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;

/**
 * PowerShell: a native argument completer (`Register-ArgumentCompleter
 * -Native`), called with the word being completed, the command's syntax tree
 * and the cursor's offset; it returns CompletionResult objects. The words
 * before the cursor are the elements of the tree that end before it. Its
 * tables are hashtables (an array of hashtables never flattens, as an array
 * of arrays can). Returning nothing lets PowerShell complete file names.
 */
function powershell(cmds: readonly CompletionCommand[]): string {
  const row = (n: string, k: string, d: string) => `@{ n = ${psQuote(n)}; k = ${psQuote(k)}; d = ${psQuote(d)} }`;
  const flagTable = cmds.map((c) => {
    const rows = flagsOf(c).flatMap((f) =>
      (f.short ? [f.long, f.short] : [f.long]).map((n) => `            ${row(n, kindOf(f), f.brief)}`)
    );
    return `        ${psQuote(c.name)} = @(\n${rows.join("\n")}\n        )`;
  });
  const wordTable = cmds.map((c) =>
    `        ${psQuote(c.name)} = ${
      c.words === "files" ? psQuote("files") : `@(${c.words.map((w) => row(w, "", w)).join(", ")})`
    }`
  );
  const commands = [
    ...cmds.map((c) => `        ${row(c.name, "", c.brief)}`),
    `        ${row("--help", "", "show help")}`,
    `        ${row("--version", "", "print the version")}`,
  ];
  return `# PowerShell completion for hakoniwa: in $PROFILE, hakoniwa completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'hakoniwa' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $commands = @(
${commands.join("\n")}
    )
    $flags = @{
${flagTable.join("\n")}
    }
    $arguments = @{
${wordTable.join("\n")}
    }
    $before = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -lt $cursorPosition } |
        ForEach-Object { $_.ToString() })
    $sub = ''
    for ($i = 1; $i -lt $before.Count; $i++) {
        if (-not $before[$i].StartsWith('-')) { $sub = $before[$i]; break }
    }
    $type = 'ParameterName'
    if ($sub -eq '') {
        $candidates = $commands
        $type = 'ParameterValue'
    } elseif (-not $flags.ContainsKey($sub)) {
        return
    } else {
        $takes = ''
        foreach ($f in $flags[$sub]) { if ($f.n -eq $before[-1]) { $takes = $f.k } }
        if ($takes -ne '') { return }
        if ($wordToComplete.StartsWith('-')) {
            $candidates = $flags[$sub]
        } elseif ($arguments[$sub] -is [string]) {
            return
        } else {
            $candidates = $arguments[$sub]
            $type = 'ParameterValue'
        }
    }
    foreach ($c in $candidates) {
        if ($c.n.StartsWith($wordToComplete, [System.StringComparison]::Ordinal)) {
            [System.Management.Automation.CompletionResult]::new($c.n, $c.n, $type, $c.d)
        }
    }
}
`;
}

/**
 * The completion script of `shell` for the subcommands `cmds`.
 *
 * @example
 * ```ts
 * import { completionScript } from "./completion.ts";
 * import { RUN_FLAGS } from "./flags.ts";
 * const script = completionScript([{ name: "run", brief: "run", flags: RUN_FLAGS, words: "files" }], "bash");
 * console.log(script.includes("--ro-bind")); // true
 * ```
 */
export function completionScript(cmds: readonly CompletionCommand[], shell: Shell): string {
  const generate = { bash, zsh, fish, elvish, powershell }[shell];
  return generate(cmds);
}
