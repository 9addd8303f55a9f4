/**
 * Bundles the web UI (web/src/main.ts, web/style.css, web/index.html) into web/dist/*.txt,
 * which src/ui/assets.ts imports as text: `bun build --compile` then embeds them in the binary.
 * Run by `npm run build` and `npm start`; web/dist/ is not committed.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const out = join(root, "web/dist");
mkdirSync(out, { recursive: true });
const result = await Bun.build({ entrypoints: [join(root, "web/src/main.ts")], target: "browser", format: "esm", minify: true });
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const [script] = result.outputs;
if (!script) throw new Error("the UI bundle produced no output");
writeFileSync(join(out, "app.js.txt"), await script.text());
writeFileSync(join(out, "style.css.txt"), readFileSync(join(root, "web/style.css")));
writeFileSync(join(out, "index.html.txt"), readFileSync(join(root, "web/index.html")));
const gzipped = Bun.gzipSync(Buffer.concat([Buffer.from(await script.text()), readFileSync(join(root, "web/style.css"))])).byteLength;
console.log(`web UI: ${(gzipped / 1024).toFixed(1)} KB of JS + CSS gzipped`);
