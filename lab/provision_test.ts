import assert from "node:assert/strict";
import {
  archiveUri,
  type MachineState,
  PACKAGES,
  planCommands,
  planProvision,
  ProvisionError,
  qemuMajor,
} from "./provision.ts";

const deb822 = Deno.readTextFileSync(
  new URL("./testdata/apt/debian.sources", import.meta.url),
);

function state(over: Partial<MachineState>): MachineState {
  const installed = new Map<string, string>(PACKAGES.map((p) => [p, "1.0"]));
  installed.set("qemu-system-x86", "1:10.0.2+ds-2+deb13u1~bpo12+1");
  return {
    root: true,
    installed,
    backportsListed: true,
    archive: "http://mirror.example.invalid/debian",
    ...over,
  };
}

Deno.test("archiveUri takes the main bookworm archive, not security, from deb822", () => {
  assert.equal(archiveUri([deb822]), "http://mirror.example.invalid/debian");
});

Deno.test("archiveUri reads one-line sources.list and skips third-party suites", () => {
  const list =
    "deb https://apt.example.invalid/node nodistro main\ndeb [arch=amd64] http://m.invalid/debian/ bookworm main\n";
  assert.equal(archiveUri([list]), "http://m.invalid/debian");
  assert.equal(
    archiveUri([
      "deb http://x.invalid/debian-security bookworm-security main\n",
    ]),
    null,
  );
});

Deno.test("qemuMajor reads Debian epochs and backports suffixes", () => {
  assert.equal(qemuMajor("1:10.0.2+ds-2+deb13u1~bpo12+1"), 10);
  assert.equal(qemuMajor("1:7.2+dfsg-7+deb12u18+b3"), 7);
  assert.equal(qemuMajor(undefined), 0);
});

Deno.test("a provisioned machine needs nothing", () => {
  const p = planProvision(state({}));
  assert.deepEqual(p, {
    writeBackports: null,
    install: [],
    installBackports: [],
  });
  assert.deepEqual(planCommands(p), []);
});

Deno.test("bookworm's QEMU 7.2 is upgraded from backports, whose source is added from the machine's archive", () => {
  const s = state({ backportsListed: false });
  s.installed.set("qemu-system-x86", "1:7.2+dfsg-7+deb12u18+b3");
  s.installed.delete("ndctl");
  const p = planProvision(s);
  assert.equal(
    p.writeBackports,
    "deb http://mirror.example.invalid/debian bookworm-backports main\n",
  );
  assert.deepEqual(p.installBackports, ["qemu-system-x86"]);
  assert.deepEqual(p.install, ["ndctl"]);
  assert.deepEqual(planCommands(p), [
    "echo 'deb http://mirror.example.invalid/debian bookworm-backports main' > /etc/apt/sources.list.d/famfs-lab-bookworm-backports.list",
    "apt-get update",
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t bookworm-backports qemu-system-x86",
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ndctl",
  ]);
});

Deno.test("no archive to derive backports from is an actionable error", () => {
  const s = state({ backportsListed: false, archive: null });
  s.installed.delete("qemu-system-x86");
  assert.throws(
    () => planProvision(s),
    (e) => e instanceof ProvisionError && /Suites: bookworm/.test(e.message),
  );
});
