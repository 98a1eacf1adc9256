// The native core refuses malformed specs before anything is cloned.
import assert from "node:assert/strict";
import { loadNative } from "../src/native/ffi.ts";
import { RESULT_SLOT, SPEC, STEP } from "../src/generated/abi.js";

const native = await loadNative();

function spawnError(spec: Uint8Array): string {
  const out = new BigInt64Array(4);
  const err = new Uint8Array(RESULT_SLOT.SLOTS * 8 + 1000);
  const rc = native.hk_spawn(spec, BigInt(spec.length), out, err);
  assert.equal(rc, -1, "a malformed spec was accepted");
  const slots = new BigInt64Array(err.buffer, 0, RESULT_SLOT.SLOTS);
  assert.equal(slots[RESULT_SLOT.STATE], 3n);
  assert.equal(slots[RESULT_SLOT.STEP], BigInt(STEP.SPEC));
  const text = err.subarray(RESULT_SLOT.SLOTS * 8);
  return new TextDecoder().decode(text.subarray(0, text.indexOf(0)));
}

function header(len: number, magic: number = SPEC.MAGIC, version: number = SPEC.VERSION): Uint8Array {
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic, true);
  v.setUint32(4, version, true);
  v.setUint32(8, len, true);
  return b;
}

Deno.test("the decoder rejects bad magic, version, length and truncated records", () => {
  assert.equal(spawnError(new Uint8Array(4)), "spec is shorter than its header");
  assert.equal(spawnError(header(12, 0x11111111)), "bad magic");
  assert.equal(spawnError(header(12, undefined, 99)), "unsupported spec version");
  const wrongLen = header(16);
  new DataView(wrongLen.buffer).setUint32(8, 99, true);
  assert.equal(spawnError(wrongLen), "length does not match header");
  const truncated = header(20);
  new DataView(truncated.buffer).setUint16(12, 9, true); // ARG record claiming more than is there
  new DataView(truncated.buffer).setUint32(16, 100, true);
  assert.equal(spawnError(truncated), "record overruns the spec");
  assert.equal(spawnError(header(12)), "no program");
});

Deno.test("the decoder rejects a string without its NUL and an unknown tag", () => {
  const s = header(12 + 8 + 4 + 3);
  const v = new DataView(s.buffer);
  v.setUint16(12, 9, true);
  v.setUint32(16, 7, true);
  v.setUint32(20, 3, true);
  s.set([0x61, 0x62, 0x63], 24);
  assert.equal(spawnError(s), "string is malformed");
  const t = header(20);
  new DataView(t.buffer).setUint16(12, 200, true);
  assert.equal(spawnError(t), "unknown record tag");
});
