import assert from "node:assert/strict";
import { openLibrary, stubFreeDeclarations } from "./dlopen.ts";

const LIBC = {
  getpid: { parameters: [], result: "i32" },
  abs: { parameters: ["i32"], result: "i32" },
  strtoll: { parameters: ["buffer", "pointer", "i32"], result: "i64" },
  strtoull: { parameters: ["buffer", "pointer", "i32"], result: "u64" },
  strtoul: { parameters: ["buffer", "pointer", "i32"], result: "u32" },
  getenv: { parameters: ["buffer"], result: "pointer" },
  toupper: { parameters: ["i32"], result: "u8" },
  usleep: { parameters: ["u32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

const c = (s: string) => new TextEncoder().encode(`${s}\0`);

Deno.test("openLibrary returns what Deno.dlopen returns, for every result type used", async () => {
  const ours = openLibrary("libc.so.6", LIBC);
  const deno = Deno.dlopen("libc.so.6", LIBC);
  try {
    const both = <T>(f: (s: typeof deno.symbols) => T) => assert.strictEqual(f(ours.symbols), f(deno.symbols));
    both((s) => s.getpid());
    both((s) => s.abs(-42));
    both((s) => s.abs(-2147483647));
    for (const text of ["0", "-1", "9007199254740991", "9007199254740993", "-9223372036854775808"]) {
      both((s) => s.strtoll(c(text), null, 10));
    }
    for (const text of ["0", "18446744073709551615", "4294967295"]) both((s) => s.strtoull(c(text), null, 10));
    both((s) => s.strtoul(c("4294967295"), null, 10));
    both((s) => s.toupper(0x61));
    Deno.env.set("HAKONIWA_DLOPEN_TEST", "yes");
    const p = ours.symbols.getenv(c("HAKONIWA_DLOPEN_TEST"));
    assert.deepEqual(new Deno.UnsafePointerView(p!).getCString(), "yes");
    assert.deepEqual(
      Deno.UnsafePointer.value(p),
      Deno.UnsafePointer.value(deno.symbols.getenv(c("HAKONIWA_DLOPEN_TEST"))),
    );
    assert.strictEqual(ours.symbols.getenv(c("HAKONIWA_DLOPEN_TEST_UNSET")), null);
    assert.strictEqual(await ours.symbols.usleep(1), 0);
  } finally {
    ours.close();
    deno.close();
  }
});

Deno.test("no symbol of the native core or its loader is given to Deno with a fast-call stub", async () => {
  const { SYMBOLS } = await import("./ffi.ts");
  const { LIBC } = await import("./image.ts");
  for (const table of [SYMBOLS, LIBC] as Deno.ForeignLibraryInterface[]) {
    for (const [name, def] of Object.entries(stubFreeDeclarations(table))) {
      const f = def as Deno.ForeignFunction;
      assert.ok(f.nonblocking || typeof f.result === "object", `${name} would get a stub: ${JSON.stringify(f)}`);
    }
  }
});

Deno.test("the sources open libraries only through openLibrary", async () => {
  const offenders: string[] = [];
  for await (const path of walkSources(new URL("./", import.meta.url))) {
    if (path.endsWith("/dlopen.ts") || path.endsWith("_test.ts")) continue;
    const lines = (await Deno.readTextFile(path)).split("\n");
    for (const [i, line] of lines.entries()) {
      const code = line.trimStart();
      if (code.startsWith("*") || code.startsWith("//")) continue; // documentation and its examples
      if (code.includes("Deno.dlopen(")) offenders.push(`${path}:${i + 1}`);
    }
  }
  assert.deepEqual(offenders, []);
});

async function* walkSources(dir: URL): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* walkSources(url);
    else if (e.name.endsWith(".ts")) yield url.pathname;
  }
}

Deno.test("openLibrary hands Deno.dlopen struct results for its synchronous symbols, so no stub is compiled", () => {
  const real = Deno.dlopen;
  const given: Deno.ForeignLibraryInterface[] = [];
  Deno.dlopen = ((path: string, symbols: Deno.ForeignLibraryInterface) => {
    given.push(symbols);
    return real(path, symbols);
  }) as typeof Deno.dlopen;
  try {
    openLibrary("libc.so.6", LIBC).close();
  } finally {
    Deno.dlopen = real;
  }
  assert.equal(given.length, 1);
  for (const [name, def] of Object.entries(given[0]) as [string, Deno.ForeignFunction][]) {
    assert.ok(def.nonblocking || typeof def.result === "object", `${name} was given as ${JSON.stringify(def)}`);
  }
});
