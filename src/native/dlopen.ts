/**
 * `Deno.dlopen` without Deno's fast-call stubs. For every symbol whose
 * signature holds no struct, Deno compiles a call stub with Cranelift when
 * the library is opened: ~0.1 ms a symbol, and the first one pages in
 * Cranelift's own code (a cold CLI run peaked 1.6 MiB higher with the stubs;
 * bench/README.md). A stub saves about a microsecond a call; ours are a few
 * calls a sandbox. So each synchronous result is declared to Deno as a struct of
 * that one value, which leaves the stub out, and unwrapped here: under the
 * SysV x86-64 ABI (the one the native core is built for) a struct of one
 * integer or pointer is returned in `rax` exactly like the value itself.
 * Symbols returning `void` and `nonblocking` ones are passed through as
 * they are (neither can be declared so; non-blocking calls have no stub).
 *
 * @module
 */

type Sync = Exclude<Deno.NativeResultType, Deno.NativeStructType | "void" | "f32" | "f64">;

const INT32: readonly string[] = ["i8", "u8", "i16", "u16", "i32", "u32", "bool"];

/** The declaration Deno is given for `def`: a one-value struct result where that is allowed. */
function declared(def: Deno.ForeignFunction): Deno.ForeignFunction {
  if (def.nonblocking || typeof def.result !== "string" || ["void", "f32", "f64"].includes(def.result)) return def;
  return { ...def, result: { struct: [def.result as Sync] } };
}

/** Turns the bytes of a one-value struct back into the value Deno would have returned for `type`. */
function unwrapper(type: Sync): (bytes: Uint8Array) => unknown {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === "bool") return (b) => b[0] !== 0;
  if (INT32.includes(type)) {
    const signed = type.startsWith("i");
    const size = Number(type.slice(1)) / 8;
    return (b) => {
      const v = view(b);
      if (size === 1) return signed ? v.getInt8(0) : v.getUint8(0);
      if (size === 2) return signed ? v.getInt16(0, true) : v.getUint16(0, true);
      return signed ? v.getInt32(0, true) : v.getUint32(0, true);
    };
  }
  if (type === "pointer" || type === "buffer" || type === "function") {
    return (b) => Deno.UnsafePointer.create(view(b).getBigUint64(0, true));
  }
  // 64-bit results are bigints, as Deno returns them.
  if (type === "i64" || type === "isize") return (b) => view(b).getBigInt64(0, true);
  return (b) => view(b).getBigUint64(0, true);
}

/**
 * What {@link openLibrary} gives `Deno.dlopen` for `symbols`: every
 * synchronous symbol with a result other than `void` or a float gets a
 * one-value struct result, which Deno compiles no fast-call stub for.
 *
 * @example
 * ```ts
 * import { stubFreeDeclarations } from "./dlopen.ts";
 * const d = stubFreeDeclarations({ getpid: { parameters: [], result: "i32" } });
 * console.log(d.getpid); // { parameters: [], result: { struct: [ "i32" ] } }
 * ```
 */
export function stubFreeDeclarations(symbols: Deno.ForeignLibraryInterface): Deno.ForeignLibraryInterface {
  return Object.fromEntries(
    Object.entries(symbols).map(([name, def]) => [name, "parameters" in def ? declared(def) : def]),
  );
}

/**
 * Opens a library like `Deno.dlopen(path, symbols)` and returns the same
 * typed library, with no fast-call stub compiled for its synchronous
 * symbols (see the module's documentation for why).
 *
 * @example
 * ```ts
 * import { openLibrary } from "./dlopen.ts";
 * const libc = openLibrary("libc.so.6", { getpid: { parameters: [], result: "i32" } });
 * console.log(libc.symbols.getpid() === Deno.pid); // true
 * libc.close();
 * ```
 */
export function openLibrary<const S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  const declarations = stubFreeDeclarations(symbols);
  const lib = Deno.dlopen(path, declarations);
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(lib.symbols)) {
    const def = declarations[name] as Deno.ForeignFunction;
    const original = symbols[name] as Deno.ForeignFunction;
    if (typeof def.result === "object" && typeof original.result === "string") {
      const unwrap = unwrapper(original.result as Sync);
      const call = fn as (...args: unknown[]) => Uint8Array;
      wrapped[name] = (...args: unknown[]) => unwrap(call(...args));
    } else {
      wrapped[name] = fn;
    }
  }
  return { symbols: wrapped, close: () => lib.close() } as unknown as Deno.DynamicLibrary<S>;
}
