// Test helper: a page's DOM after headless Chromium (installed by the lab's provisioning) loaded it.
export const CHROMIUM = "/usr/bin/chromium";

export async function dumpDom(html: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "famfs-lab-html-" });
  try {
    await Deno.writeTextFile(`${dir}/index.html`, html);
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${dir}/profile`,
        "--dump-dom",
        `file://${dir}/index.html`,
      ],
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
