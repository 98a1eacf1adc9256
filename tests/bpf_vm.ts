/**
 * A classic BPF interpreter for seccomp programs, as the kernel runs them
 * (net/core/filter.c's seccomp checker allows the same instructions): it
 * lets unit tests prove what a filter does on an ABI the host kernel cannot
 * run (i386 on a kernel booted with `ia32_emulation=0`, x32, arm), where no
 * real syscall could show it.
 *
 * @module
 */

/** The `AUDIT_ARCH_*` values of the ABIs the tests name. */
export const AUDIT_ARCH = {
  x86_64: 0xc000003e,
  i386: 0x40000003,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
} as const;

/** The x32 ABI: x86_64's audit arch with bit 30 set in the syscall number. */
export const X32_BIT = 0x40000000;

/** One syscall as a filter sees it (struct seccomp_data). */
export interface SeccompData {
  nr: number;
  arch: number;
  ip?: bigint;
  args?: (number | bigint)[];
}

/** A filter's decision: the action and its 16-bit data (an errno for ERRNO). */
export interface Verdict {
  action: "kill_process" | "kill_thread" | "trap" | "errno" | "user_notif" | "trace" | "log" | "allow";
  data: number;
}

const ACTIONS: [number, Verdict["action"]][] = [
  [0x80000000, "kill_process"],
  [0x00000000, "kill_thread"],
  [0x00030000, "trap"],
  [0x00050000, "errno"],
  [0x7fc00000, "user_notif"],
  [0x7ff00000, "trace"],
  [0x7ffc0000, "log"],
  [0x7fff0000, "allow"],
];

/** struct seccomp_data as bytes (64, little-endian). */
function dataBytes(d: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(64));
  view.setInt32(0, d.nr, true);
  view.setUint32(4, d.arch, true);
  view.setBigUint64(8, d.ip ?? 0n, true);
  (d.args ?? []).forEach((a, i) => view.setBigUint64(16 + 8 * i, BigInt.asUintN(64, BigInt(a)), true));
  return view;
}

/**
 * Runs a seccomp program (struct sock_filter[]) on one syscall and returns
 * its decision. Throws on what the kernel would refuse to load or run: an
 * unknown instruction, a load outside seccomp_data, a jump past the end.
 *
 * @example
 * ```ts
 * import { runSeccomp, AUDIT_ARCH } from "./bpf_vm.ts";
 * const allowAll = new Uint8Array([6, 0, 0, 0, 0, 0, 0xff, 0x7f]);
 * console.log(runSeccomp(allowAll, { nr: 20, arch: AUDIT_ARCH.i386 }).action); // "allow"
 * ```
 */
export function runSeccomp(program: Uint8Array, syscall: SeccompData): Verdict {
  if (program.length % 8 !== 0 || program.length === 0) throw new Error("not whole instructions");
  const code = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const data = dataBytes(syscall);
  const n = program.length / 8;
  const mem = new Uint32Array(16);
  let a = 0, x = 0;
  for (let pc = 0; pc < n; pc++) {
    const op = code.getUint16(pc * 8, true), jt = code.getUint8(pc * 8 + 2), jf = code.getUint8(pc * 8 + 3);
    const k = code.getUint32(pc * 8 + 4, true);
    const cls = op & 0x07;
    const src = op & 0x08 ? x : k;
    switch (cls) {
      case 0x00: // LD
      case 0x01: { // LDX
        const mode = op & 0xe0;
        let v: number;
        if (mode === 0x00) v = k; // IMM
        else if (mode === 0x20 && cls === 0x00 && (op & 0x18) === 0x00) { // ABS, W
          if (k % 4 !== 0 || k > 60) throw new Error(`load outside seccomp_data at ${pc}: ${k}`);
          v = data.getUint32(k, true);
        } else if (mode === 0x60) v = mem[k & 15]; // MEM
        else if (mode === 0x80) v = 64; // LEN
        else throw new Error(`unsupported load ${op.toString(16)} at ${pc}`);
        if (cls === 0x00) a = v >>> 0;
        else x = v >>> 0;
        break;
      }
      case 0x02: // ST
        mem[k & 15] = a;
        break;
      case 0x03: // STX
        mem[k & 15] = x;
        break;
      case 0x04: { // ALU
        const b = src >>> 0;
        switch (op & 0xf0) {
          case 0x00:
            a = (a + b) >>> 0;
            break;
          case 0x10:
            a = (a - b) >>> 0;
            break;
          case 0x20:
            a = Math.imul(a, b) >>> 0;
            break;
          case 0x30:
            if (b === 0) return { action: "kill_thread", data: 0 };
            a = Math.floor(a / b) >>> 0;
            break;
          case 0x40:
            a = (a | b) >>> 0;
            break;
          case 0x50:
            a = (a & b) >>> 0;
            break;
          case 0x60:
            a = b >= 32 ? 0 : (a << b) >>> 0;
            break;
          case 0x70:
            a = b >= 32 ? 0 : a >>> b;
            break;
          case 0x80:
            a = (-a) >>> 0;
            break;
          case 0x90:
            if (b === 0) return { action: "kill_thread", data: 0 };
            a = (a % b) >>> 0;
            break;
          case 0xa0:
            a = (a ^ b) >>> 0;
            break;
          default:
            throw new Error(`unsupported ALU op ${op.toString(16)} at ${pc}`);
        }
        break;
      }
      case 0x05: { // JMP
        const b = src >>> 0;
        let taken: boolean;
        switch (op & 0xf0) {
          case 0x00:
            pc += k;
            if (pc >= n) throw new Error(`jump past the end at ${pc}`);
            continue;
          case 0x10:
            taken = a === b;
            break;
          case 0x20:
            taken = a > b;
            break;
          case 0x30:
            taken = a >= b;
            break;
          case 0x40:
            taken = (a & b) !== 0;
            break;
          default:
            throw new Error(`unsupported jump ${op.toString(16)} at ${pc}`);
        }
        pc += taken ? jt : jf;
        if (pc + 1 >= n) throw new Error(`jump past the end at ${pc}`);
        break;
      }
      case 0x06: { // RET
        const rval = op & 0x18;
        const r = (rval === 0x10 ? a : rval === 0x08 ? x : k) >>> 0;
        const full = (r & 0xffff0000) >>> 0;
        const found = ACTIONS.find(([v]) => v === full);
        // The kernel treats an unknown action as kill_process.
        return { action: found ? found[1] : "kill_process", data: r & 0xffff };
      }
      case 0x07: // MISC
        if ((op & 0xf8) === 0x00) x = a;
        else if ((op & 0xf8) === 0x80) a = x;
        else throw new Error(`unsupported misc ${op.toString(16)} at ${pc}`);
        break;
    }
  }
  throw new Error("the program ran off its end");
}
