import assert from "node:assert/strict";
import { sha256 } from "./sha256.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("sha256 matches Web Crypto on the FIPS vectors and on every length around the block edges", async () => {
  assert.equal(hex(sha256(new Uint8Array())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const abc = new TextEncoder().encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  assert.equal(hex(sha256(abc)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 100_003]) {
    const bytes = crypto.getRandomValues(new Uint8Array(Math.min(n, 65536)));
    const big = n > 65536 ? new Uint8Array(n).map((_, i) => bytes[i % bytes.length] ^ i) : bytes;
    assert.equal(hex(sha256(big)), hex(new Uint8Array(await crypto.subtle.digest("SHA-256", big))), `length ${n}`);
  }
});
