/**
 * handlebars, the template engine of policies that need more than plain
 * helper calls: src/policy/template.ts imports this module, by a specifier made at
 * run time, only for such a policy.
 *
 * @example
 * ```ts
 * import Handlebars from "./handlebars.ts";
 * console.log(Handlebars.compile("{{x}}")({ x: 1 })); // "1"
 * ```
 *
 * @module
 */
// A full npm: specifier: import maps do not apply when the module is served over http (JSR, a URL).
export { default } from "npm:handlebars@4.7.8";
