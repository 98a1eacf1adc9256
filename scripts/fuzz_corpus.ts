/**
 * Writes the seed corpus of the spec decoder's fuzzers (native/fuzz/corpus/):
 * real specs that encodeSpec makes from a few plans (the default policy, the
 * library's defaults with limits, a seccomp program and Landlock rules,
 * supplementary groups without no_new_privs).
 *
 * Usage: deno run -A scripts/fuzz_corpus.ts
 */
import { Container } from "../src/container.ts";
import { parsePolicy } from "../src/policy/policy.ts";
import { containerFromPolicy } from "../src/policy_container.ts";
import { buildPlan, type HostView } from "../src/plan/plan.ts";
import { encodeSpec, type SpawnIo } from "../src/run/spec.ts";
import { POLICIES } from "../src/generated/policies.js";

const out = new URL("../native/fuzz/corpus/", import.meta.url).pathname;
const host: HostView = { uid: 1000, gid: 1000, realPath: (p) => p };
const io: SpawnIo = { stdio: [0, 1, 2], session: "new", setgroups: false };
const cmd = { program: "sh", args: ["-c", "echo hi"] };

const kiss = containerFromPolicy(parsePolicy(POLICIES["KISS-policy"], "KISS-policy.toml")).settings;
const lib = new Container().bindRo("/usr").bindRw("/tmp/w", "/w").limit("nofile", 64).walltime(5).hostname("hk")
  .env("A", "1").workdir("/w").settings;
const seccomp = new Uint8Array(8 * 3); // three BPF instructions: ret ALLOW
new DataView(seccomp.buffer).setUint16(16, 0x06, true);
new DataView(seccomp.buffer).setUint32(20, 0x7fff0000, true);
const specs: [string, Uint8Array][] = [
  ["kiss", encodeSpec(buildPlan(kiss, cmd, host), io)],
  ["library", encodeSpec(buildPlan(lib, { program: "/bin/true", args: [] }, host), io)],
  ["uid0-tty", encodeSpec(buildPlan(Container.empty().uid(0).gid(0).settings, cmd, host), { ...io, session: "tty" })],
  [
    "filters",
    encodeSpec(buildPlan(lib, cmd, host), {
      ...io,
      seccomp,
      landlock: {
        abi: 6,
        fs: 0xffffn,
        net: 3n,
        scoped: 3n,
        paths: [{ path: "/usr", access: 1n }],
        ports: [{ port: 80, access: 2n }],
      },
    }),
  ],
  [
    "groups-new-privs",
    encodeSpec(
      buildPlan(Container.empty().uid(0).gid(0).groups(10, 27).allowNewPrivs().settings, cmd, {
        ...host,
        uid: 0,
        gid: 0,
      }),
      { ...io, setgroups: true },
    ),
  ],
];
await Deno.mkdir(out, { recursive: true });
for (const [name, bytes] of specs) await Deno.writeFile(`${out}${name}.spec`, bytes);
console.log(`wrote ${specs.length} specs to ${out}`);
