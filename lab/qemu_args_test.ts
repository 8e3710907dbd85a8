import assert from "node:assert/strict";
import { renderSetupScript } from "./guest_setup.ts";
import { cxlWindows, renderQemuArgs, shellQuote } from "./qemu_args.ts";
import { loadTopology } from "./topology.ts";

const golden = new URL("./testdata/qemu/", import.meta.url).pathname;

async function argsFor(
  name: string,
  accel: "kvm" | "tcg" = "tcg",
): Promise<string[]> {
  return renderQemuArgs({
    topology: await loadTopology(name),
    kernel: "/k/bzImage",
    runDir: "/r",
    init: "/repo/vm-images/guest/init.sh",
    sshPort: 10022,
    accel,
  });
}

/** Golden files hold one argument per line; UPDATE_GOLDEN=1 rewrites them. */
async function checkGolden(file: string, actual: string): Promise<void> {
  if (Deno.env.get("UPDATE_GOLDEN")) {
    await Deno.writeTextFile(golden + file, actual);
  }
  assert.equal(actual, await Deno.readTextFile(golden + file));
}

for (const name of ["default", "pmem", "cxl-interleave", "bare"]) {
  Deno.test(`topology ${name} renders the reviewed QEMU command line`, async () => {
    await checkGolden(`${name}.argv`, (await argsFor(name)).join("\n") + "\n");
  });
  Deno.test(`topology ${name} renders the reviewed guest setup script`, async () => {
    await checkGolden(
      `${name}.setup.sh`,
      renderSetupScript(await loadTopology(name)),
    );
  });
}

Deno.test("topology multihost renders the reviewed command line and per-host setup scripts", async () => {
  const t = await loadTopology("multihost");
  const argv = (host: string) =>
    renderQemuArgs({
      topology: t,
      kernel: "/k/bzImage",
      runDir: `/r/multihost/${host}`,
      init: "/repo/vm-images/guest/init.sh",
      sshPort: 10022,
      accel: "tcg",
    });
  await checkGolden("multihost.argv", argv("host-a").join("\n") + "\n");
  // Both QEMU processes map the same file, shared, so each sees the other's stores.
  const backend = (a: string[]) => a.find((x) => x.startsWith("memory-backend-file"));
  assert.equal(
    backend(argv("host-a")),
    "memory-backend-file,id=pmem0-mem,share=on,mem-path=/r/multihost/host-a/../pmem0-shared.img,size=512M,align=2M",
  );
  assert.equal(backend(argv("host-b"))?.replace("host-b", "host-a"), backend(argv("host-a")));
  // Host A keeps the namespace's struct pages in its own RAM (map mem): on the shared media, both kernels
  // would keep their page state (refcount, folio order, mapping) in the same bytes.
  assert.match(renderSetupScript(t, 0), /^pmem_devdax pmem0 0 device_dax mem$/m);
  assert.doesNotMatch(renderSetupScript(await loadTopology("pmem"), 0), / mem$/m);
  await checkGolden("multihost.setup.sh", renderSetupScript(t, 0));
  await checkGolden("multihost-host-b.setup.sh", renderSetupScript(t, 1));
});

Deno.test("CXL topologies boot with SeaBIOS (qboot hides CXL host bridges), others with qboot", async () => {
  assert.ok(!(await argsFor("default")).includes("-bios"));
  const pmem = await argsFor("pmem");
  assert.equal(pmem[pmem.indexOf("-bios") + 1], "/usr/share/qemu/qboot.rom");
});

Deno.test("KVM uses the host CPU; TCG the max model", async () => {
  const kvm = await argsFor("bare", "kvm");
  assert.equal(kvm[kvm.indexOf("-accel") + 1], "kvm");
  assert.equal(kvm[kvm.indexOf("-cpu") + 1], "host");
});

Deno.test("SSH is forwarded only on host loopback with a restricted user net", async () => {
  const a = await argsFor("bare");
  assert.equal(
    a[a.indexOf("-netdev") + 1],
    "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:10022-:22",
  );
});

Deno.test("two host bridges get a window each plus one interleaving across both", async () => {
  const t = await loadTopology("cxl-interleave");
  assert.deepEqual(cxlWindows(t.cxl!), [{ targets: [0], index: 0 }, {
    targets: [1],
    index: 1,
  }, {
    targets: [0, 1],
    index: 2,
  }]);
});

Deno.test("shellQuote leaves plain words and quotes the rest", () => {
  assert.equal(
    shellQuote(["a", "b c", "it's", "x=1,y"]),
    `a 'b c' 'it'\\''s' x=1,y`,
  );
});
