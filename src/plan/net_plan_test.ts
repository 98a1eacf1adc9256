import assert from "node:assert/strict";
import { Container } from "../container.ts";
import { buildPlan, type HostView } from "./plan.ts";
import { UsageError } from "../common/errors.ts";

const host: HostView = { uid: 1000, gid: 1000, realPath: (p) => p };
const plan = (c: Container, env: Record<string, string> = {}) =>
  buildPlan(c.settings, { program: "curl", args: [], env }, host);

Deno.test("an allow list: the proxy in the plan, its variables in the environment (the caller's win)", () => {
  const p = plan(new Container().allowNet("registry.test:443", "*.cdn.test"), { NO_PROXY: "internal.test" });
  assert.deepEqual(p.allowNet?.rules.map((r) => r.text), ["registry.test:443", "*.cdn.test"]);
  assert.equal(p.allowNet?.port, 3128);
  assert.equal(p.allowNet?.socket, "/run/hakoniwa/net.sock");
  assert.equal(p.network.mode, "none");
  const env = new Map(p.env);
  assert.equal(env.get("HTTPS_PROXY"), "http://127.0.0.1:3128");
  assert.equal(env.get("all_proxy"), "socks5h://127.0.0.1:3128");
  assert.equal(env.get("NO_PROXY"), "internal.test");
  assert.equal(env.get("no_proxy"), "localhost,127.0.0.1,::1");
  assert.equal(plan(new Container()).allowNet, undefined);
  assert.ok(!new Map(plan(new Container()).env).has("HTTP_PROXY"));
});

Deno.test("an allow list needs the sandbox's own network namespace, and not pasta", () => {
  assert.throws(
    () => plan(new Container().network("host").allowNet("a.test")),
    (e: unknown) =>
      e instanceof UsageError && e.option === "allowNet" && /contradicts the host's network/.test(e.message),
  );
  assert.throws(() => plan(Container.empty().allowNet("a.test")), /unshare the network namespace/);
  assert.equal(plan(Container.empty().unshare("network").allowNet("a.test")).allowNet?.rules.length, 1);
  assert.throws(() => plan(new Container().network("pasta").allowNet("a.test")), /contradicts network pasta/);
});

Deno.test("the socket's mount point is never made in a host bind; a tmpfs at /run is fine", () => {
  assert.throws(
    () => plan(new Container().bindRw("/run").allowNet("a.test")),
    /lies in the bind of \/run at \/run: its mount point would be made in that host directory/,
  );
  assert.ok(plan(new Container().bindRw("/run").tmpfs("/run").allowNet("a.test")).allowNet);
});

Deno.test("Landlock's tcp.connect restriction leaves room for the bridge's port", () => {
  const p = plan(new Container().landlockTcpConnect(443).allowNet("a.test"));
  assert.deepEqual(p.landlock?.ports, [{ access: "tcp.connect", port: 443 }, { access: "tcp.connect", port: 3128 }]);
  const bindOnly = plan(new Container().landlockTcpBind(8080).allowNet("a.test"));
  assert.deepEqual(bindOnly.landlock?.ports, [{ access: "tcp.bind", port: 8080 }]);
});

Deno.test("a read-only rootdir without /run/hakoniwa gets a layer for the socket's mount point", () => {
  const rootHost: HostView = { ...host, realPath: (p) => p.startsWith("/srv/root/run/hakoniwa") ? null : p };
  const settings = Container.empty().unshare("network").rootdir("/srv/root").allowNet("a.test").settings;
  assert.equal(buildPlan(settings, { program: "true", args: [] }, rootHost).root.layer, true);
  const without = Container.empty().unshare("network").rootdir("/srv/root").settings;
  assert.equal(buildPlan(without, { program: "true", args: [] }, rootHost).root.layer, false);
});

Deno.test("--network pasta: a resolv.conf naming pasta's DNS address, unless the plan decides /etc/resolv.conf", () => {
  const resolv = (c: Container) => plan(c).mounts.find((m) => m.target === "/etc/resolv.conf");
  assert.deepEqual(resolv(new Container().network("pasta")), {
    kind: "file",
    target: "/etc/resolv.conf",
    contents: "nameserver 169.254.1.1\n",
    mode: 0o644,
  });
  const own = resolv(new Container().network("pasta", ["--dns-forward", "10.0.2.3"]));
  assert.equal(own?.kind === "file" && own.contents, "nameserver 10.0.2.3\n");
  assert.equal(resolv(new Container().network("pasta").tmpfs("/etc"))?.kind, "file");
  assert.equal(resolv(new Container().network("pasta").bindRo("/etc"))?.kind, undefined, "the host's /etc is used");
  assert.equal(resolv(new Container().network("pasta").bindRo("/etc/resolv.conf"))?.kind, "bind");
  const mine = resolv(new Container().network("pasta").file("/etc/resolv.conf", "nameserver 10.9.9.9\n"));
  assert.equal(mine?.kind === "file" && mine.contents, "nameserver 10.9.9.9\n");
  assert.equal(resolv(new Container()), undefined);
  const rw = Container.empty().unshare("network").network("pasta").rootdir("/srv/root", { rw: true });
  assert.equal(resolv(rw), undefined, "a read-write rootdir's /etc is never written");
  const ro = Container.empty().network("pasta").rootdir("/srv/root");
  assert.equal(resolv(ro)?.kind, "file", "a read-only rootdir gets it on its layer");
  const linked: HostView = { ...host, isSymlink: (p) => p === "/srv/root/etc/resolv.conf" };
  const op = buildPlan(ro.settings, { program: "true", args: [] }, linked).mounts.find((m) =>
    m.target === "/etc/resolv.conf"
  );
  assert.equal(op, undefined, "a rootdir's link (to systemd's stub, say) is left alone");
});
