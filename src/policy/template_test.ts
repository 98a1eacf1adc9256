import assert from "node:assert/strict";
import Handlebars from "handlebars";
import {
  loadTemplateEngine,
  needsTemplateEngine,
  renderTemplate,
  renderTemplateAsync,
  TemplateEngineNotLoaded,
  TemplateError,
  tomlString,
} from "./template.ts";

/** handlebars itself, configured as renderTemplate configures it. */
function reference(text: string): string {
  const hb = Handlebars.create();
  hb.registerHelper("os_env", (n: unknown) => tomlString(Deno.env.get(String(n)) ?? ""));
  hb.registerHelper("os_homedir", () => tomlString(Deno.env.get("HOME") ?? ""));
  hb.registerHelper("fs_read_to_string", (p: unknown) => tomlString(Deno.readTextFileSync(String(p))));
  hb.registerHelper("path_exists", (p: unknown) => {
    try {
      Deno.statSync(String(p));
      return "true";
    } catch {
      return "false";
    }
  });
  const known = { os_env: true, os_homedir: true, fs_read_to_string: true, path_exists: true };
  return hb.compile(text, { noEscape: true, strict: true, knownHelpersOnly: true, knownHelpers: known })({});
}

// Runs first: the engine is not loaded yet in this process.
Deno.test("a template beyond plain helper calls needs the engine: sync throws until it is loaded, async loads it", async () => {
  const block = '{{#if (path_exists "/")}}root{{/if}}';
  assert.equal(needsTemplateEngine('A = {{ os_env "HOME" }} {{ os_homedir }}'), false);
  assert.equal(needsTemplateEngine("no braces"), false);
  assert.equal(needsTemplateEngine(block), true);
  assert.throws(() => renderTemplate(block), TemplateEngineNotLoaded);
  assert.equal(renderTemplate("H = {{ os_homedir }}"), `H = ${tomlString(Deno.env.get("HOME") ?? "")}`);
  assert.equal(await renderTemplateAsync(block), "root");
  assert.equal(renderTemplate(block), "root");
});

Deno.test("templates render exactly as handlebars renders them, with or without the fast path", async () => {
  await loadTemplateEngine();
  Deno.env.set("HK_TEMPLATE_TEST", 'a"b\\c{{x}}\u007f');
  const file = Deno.makeTempFileSync();
  Deno.writeTextFileSync(file, "line 1\nline 2\n");
  const cases = [
    'A = {{ os_env "HK_TEMPLATE_TEST" }}\nB = {{os_env "HK_TEMPLATE_UNSET_X"}}',
    "H = {{ os_homedir }}",
    `P = {{ path_exists "${file}" }} {{ path_exists "/no/such/path" }}`,
    `F = {{ fs_read_to_string "${file}" }}`,
    'E = \\{{ os_env "HK_TEMPLATE_TEST" }}',
    'T = {{{ os_env "HK_TEMPLATE_TEST" }}}',
    'C = {{!-- {{ os_env "HK_TEMPLATE_TEST" }} --}} x',
    'W = {{~ os_env "HK_TEMPLATE_TEST" ~}} y',
    `I = {{#if (path_exists "${file}")}}yes{{/if}}`,
    'plain }} text {{ os_env "HK_TEMPLATE_TEST" }} }}',
    "S = {{ os_env 'HK_TEMPLATE_TEST' }}",
  ];
  for (const text of cases) assert.equal(renderTemplate(text), reference(text), text);
  assert.equal(renderTemplate('A = {{ os_env "HK_TEMPLATE_TEST" }}'), `A = ${tomlString('a"b\\c{{x}}\u007f')}`);
});

Deno.test("a helper failing in a plain template is a TemplateError", () => {
  assert.throws(() => renderTemplate('F = {{ fs_read_to_string "/no/such/file" }}'), TemplateError);
});
