/**
 * The web UI's files, embedded at build time (scripts/build-ui.ts writes web/dist/*.txt; the
 * text imports put them in the bundle, so the compiled binary serves them from memory in any
 * working directory). Script and style get content-hashed names, cached for a year.
 */
import script from "../../web/dist/app.js.txt" with { type: "text" };
import template from "../../web/dist/index.html.txt" with { type: "text" };
import style from "../../web/dist/style.css.txt" with { type: "text" };

export interface Asset {
  body: string;
  contentType: string;
}

function hashed(body: string, extension: string): string {
  return `app.${Bun.hash(body).toString(16).slice(0, 12)}.${extension}`;
}

export interface UiAssets {
  /** index.html with the hashed names under `base` */
  index: string;
  /** by file name under `${base}assets/` */
  files: Map<string, Asset>;
}

export function uiAssets(base: string): UiAssets {
  const scriptName = hashed(script, "js");
  const styleName = hashed(style, "css");
  const index = template.replace("%SCRIPT%", `${base}assets/${scriptName}`).replace("%STYLE%", `${base}assets/${styleName}`);
  return {
    index,
    files: new Map([
      [scriptName, { body: script, contentType: "text/javascript; charset=utf-8" }],
      [styleName, { body: style, contentType: "text/css; charset=utf-8" }],
    ]),
  };
}
