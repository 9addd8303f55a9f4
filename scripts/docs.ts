/** `npm run docs`: rewrites the generated parts of the documentation. */
import { join } from "node:path";
import { withRegistry2Table } from "../src/config/registry2/table.ts";

const guide = join(import.meta.dir, "../docs/migrating-from-registry2.md");
await Bun.write(guide, withRegistry2Table(await Bun.file(guide).text()));
process.stdout.write(`updated ${guide}\n`);
