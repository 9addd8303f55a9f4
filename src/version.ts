/** The version, read from package.json at build time (the bundler inlines it). */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
