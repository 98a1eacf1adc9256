/**
 * Shell completion scripts for bash, zsh and fish, generated from the
 * command tree: subcommands, their flags, and file names for flags whose
 * value is a path.
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
// deno-lint-ignore no-import-prefix
import type { Command } from "npm:@commander-js/extra-typings@14.0.0";

/**
 * The shells `hakoniwa completion` supports.
 *
 * @example
 * ```ts
 * import { SHELLS } from "./completion.ts";
 * console.log(SHELLS.join(" ")); // "bash zsh fish"
 * ```
 */
export const SHELLS = ["bash", "zsh", "fish"] as const;

interface Sub {
  name: string;
  description: string;
  flags: { long?: string; short?: string; value: boolean; files: boolean; description: string }[];
}

// deno-lint-ignore no-explicit-any
function describe(program: Command<any, any, any>): Sub[] {
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    flags: [...c.options, { long: "--help", short: "-h", flags: "-h, --help", description: "show help" }].map((
      o,
    ) => ({
      long: o.long,
      short: o.short,
      value: /[<[]/.test(o.flags),
      files: /<(FILE|DIR|SRC|ORIGINAL)/.test(o.flags),
      description: o.description ?? "",
    })),
  }));
}

function bash(subs: Sub[]): string {
  const cases = subs.map((s) => {
    const all = s.flags.flatMap((f) => [f.long, f.short]).filter(Boolean).join(" ");
    const files = s.flags.filter((f) => f.files).flatMap((f) => [f.long, f.short]).filter(Boolean).join("|");
    const values = s.flags.filter((f) => f.value && !f.files).flatMap((f) => [f.long, f.short]).filter(Boolean)
      .join("|");
    return `    ${s.name})
      case "$prev" in
        ${files || "--no-such-flag"}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        ${values || "--no-such-flag"}) return ;;
      esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${all}" -- "$cur"))
      else COMPREPLY=($(compgen -f -- "$cur")); fi ;;`;
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
    COMPREPLY=($(compgen -W "${subs.map((s) => s.name).join(" ")} --help --version" -- "$cur"))
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

function zsh(subs: Sub[]): string {
  const fns = subs.map((s) => {
    const specs = s.flags.map((f) => {
      const names = [f.short, f.long].filter(Boolean) as string[];
      const action = f.files ? ":file:_files" : f.value ? ":value: " : "";
      const head = names.length > 1 ? `'(${names.join(" ")})'{${names.join(",")}}'` : `'${names[0]}`;
      return `    ${head}[${quote(f.description)}]${action}'`;
    });
    return `_hakoniwa_${s.name}() {\n  _arguments -s \\\n${specs.join(" \\\n")} \\\n    '*:file:_files'\n}`;
  }).join("\n\n");
  return `#compdef hakoniwa
# zsh completion for hakoniwa
${fns}

_hakoniwa() {
  local -a subcommands
  subcommands=(
${subs.map((s) => `    '${s.name}:${quote(s.description)}'`).join("\n")}
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

function fish(subs: Sub[]): string {
  const names = subs.map((s) => s.name).join(" ");
  const lines = [
    "# fish completion for hakoniwa",
    "complete -c hakoniwa -f",
    ...subs.map((s) =>
      `complete -c hakoniwa -n "not __fish_seen_subcommand_from ${names}" -a ${s.name} -d '${
        s.description.replace(/'/g, "\\'")
      }'`
    ),
  ];
  for (const s of subs) {
    for (const f of s.flags) {
      const parts = [`complete -c hakoniwa -n "__fish_seen_subcommand_from ${s.name}"`];
      if (f.long) parts.push(`-l ${f.long.slice(2)}`);
      if (f.short) parts.push(`-s ${f.short.slice(1)}`);
      if (f.files) parts.push("-r -F");
      else if (f.value) parts.push("-r");
      parts.push(`-d '${f.description.replace(/'/g, "\\'")}'`);
      lines.push(parts.join(" "));
    }
    lines.push(`complete -c hakoniwa -n "__fish_seen_subcommand_from ${s.name}" -F`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The completion script of `shell` for the commands of `program`.
 *
 * @example
 * ```ts ignore
 * console.log(completionScript(program, "bash"));
 * ```
 */
// deno-lint-ignore no-explicit-any
export function completionScript(program: Command<any, any, any>, shell: (typeof SHELLS)[number]): string {
  const subs = describe(program);
  return shell === "bash" ? bash(subs) : shell === "zsh" ? zsh(subs) : fish(subs);
}
