/** One manifest: platforms of an index, layers and config of an image, referrers, pull commands. */
import { type Json, type Me, arr, del, get, num, obj, request, rights, str, strs } from "../api.ts";
import { copyButton, errorBox, h, render, toast } from "../dom.ts";
import { bytes, platform, shortDigest, when } from "../format.ts";

function pullCommands(reference: string, digest: string): Array<[string, string]> {
  const byDigest = `${reference}@${digest}`;
  return [
    ["docker", `docker pull ${byDigest}`],
    ["podman", `podman pull ${byDigest}`],
    ["skopeo", `skopeo copy docker://${byDigest} oci:image:latest`],
    ["crane", `crane pull ${byDigest} image.tar`],
    ["oras", `oras pull ${byDigest}`],
  ];
}

function kv(entries: Array<[string, string]>): HTMLElement {
  if (entries.length === 0) return h("p", { class: "muted" }, "none");
  return h("div", { class: "table-wrap", tabindex: 0 }, h("table", {}, h("tbody", {}, ...entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, h("code", {}, v)))))));
}

async function configSection(name: string, digest: string): Promise<HTMLElement> {
  try {
    const config = obj(await request("GET", `/v2/${name}/blobs/${digest}`));
    const inner = obj(config.config);
    const history = arr(config.history);
    const ports = Object.keys(obj(inner.ExposedPorts));
    return h(
      "section",
      { "aria-labelledby": "config-title" },
      h("h2", { id: "config-title" }, "Config"),
      kv([
        ["Entrypoint", strs(inner.Entrypoint).join(" ") || "—"],
        ["Cmd", strs(inner.Cmd).join(" ") || "—"],
        ["Working directory", str(inner.WorkingDir) || "—"],
        ["User", str(inner.User) || "—"],
        ["Exposed ports", ports.join(", ") || "—"],
      ]),
      h("h2", {}, "Environment"),
      kv(strs(inner.Env).map((e) => [e.split("=")[0] ?? e, e.slice(e.indexOf("=") + 1)])),
      h("h2", {}, "Labels"),
      kv(Object.entries(obj(inner.Labels)).map(([k, v]) => [k, str(v)])),
      h("h2", {}, "History"),
      history.length === 0 ? h("p", { class: "muted" }, "none") : h("ol", {}, ...history.map((step) => h("li", {}, h("code", {}, str(step.created_by) || "(no command)"), step.empty_layer === true ? h("span", { class: "muted" }, " (no layer)") : null))),
    );
  } catch (error) {
    return errorBox(error);
  }
}

async function signatureSection(name: string, digest: string, who: Me): Promise<HTMLElement | null> {
  if (!who.admin || !who.features.signing) return null;
  try {
    const body = await get(`/api/v1/repositories/${name}/manifests/${digest}/signatures`);
    const found = arr(body.signatures);
    return h(
      "section",
      {},
      h("h2", {}, "Signatures"),
      found.length === 0
        ? h("p", {}, "No signature found.")
        : h("ul", {}, ...found.map((s) => h("li", {}, `${str(s.format)}: `, s.verified === true ? h("span", { class: "badge ok" }, "verified") : h("span", { class: "badge bad" }, "not verified"), ` ${str(s.signer)} ${str(s.reason)}`))),
    );
  } catch {
    return null; // no signing plugin: nothing to show
  }
}

export async function imagePage(name: string, digest: string, who: Me): Promise<void> {
  render(h("h1", {}, `${name}@${shortDigest(digest)}`), h("p", {}, "Loading…"));
  let facts: Json;
  try {
    facts = await get(`/api/v1/repositories/${name}/manifests/${digest}`);
  } catch (error) {
    render(h("h1", {}, `${name}@${shortDigest(digest)}`), errorBox(error));
    return;
  }
  const may = await rights(name).catch(() => ({ push: false, delete: false }));
  const children = arr(facts.manifests);
  const layers = arr(facts.layers);
  const referrers = arr(facts.referrers);
  const config = obj(facts.config);
  const reference = `${who.registry}/${name}`;
  const deleteManifest = h("button", { type: "button", class: "danger", id: "delete-manifest", hidden: !may.delete }, "Delete this manifest");
  deleteManifest.addEventListener("click", async () => {
    const tags = strs(facts.tags);
    if (!window.confirm(`Delete ${name}@${digest}${tags.length > 0 ? ` and its tags ${tags.join(", ")}` : ""}? Its layers are freed by the next garbage collection when nothing else uses them.`)) return;
    try {
      await del(`/v2/${name}/manifests/${digest}`);
      toast("Manifest deleted");
      location.hash = `#/r/${name}`;
    } catch (error) {
      toast((error as Error).message);
    }
  });
  render(
    h("p", {}, h("a", { href: `#/r/${name}` }, `← ${name}`)),
    h("h1", {}, `${name}@${shortDigest(digest)}`),
    h(
      "div",
      { class: "cards" },
      h("div", { class: "card" }, h("div", { class: "muted" }, "Type"), h("div", {}, str(facts.artifact_type) || str(facts.media_type))),
      h("div", { class: "card" }, h("div", { class: "muted" }, "Size"), h("div", { class: "value" }, bytes(num(facts.total_size) || num(facts.size)))),
      h("div", { class: "card" }, h("div", { class: "muted" }, "Tags"), h("div", {}, strs(facts.tags).join(", ") || "untagged")),
      h("div", { class: "card" }, h("div", { class: "muted" }, "Pushed / pulled"), h("div", {}, `${when(str(facts.pushed_at) || null)} / ${when(str(facts.pulled_at) || null)} (${num(facts.pull_count)} pulls)`)),
    ),
    h("p", {}, h("code", {}, digest), " ", copyButton(digest, "Copy the full digest")),
    h("h2", {}, "Pull"),
    ...pullCommands(reference, digest).map(([tool, command]) => h("div", { class: "pull" }, h("code", {}, command), copyButton(command, `Copy the ${tool} command`))),
    children.length > 0
      ? h(
          "section",
          {},
          h("h2", {}, "Platforms"),
          h("ul", {}, ...children.map((c) => h("li", {}, h("a", { href: `#/r/${name}/@${str(c.digest)}` }, c.platform ? platform({ os: str(obj(c.platform).os), architecture: str(obj(c.platform).architecture), ...(str(obj(c.platform).variant) ? { variant: str(obj(c.platform).variant) } : {}) }) : shortDigest(str(c.digest))), ` ${bytes(num(c.total_size) || num(c.size))}`))),
        )
      : null,
    layers.length > 0
      ? h("section", {}, h("h2", {}, "Layers"), h("ol", {}, ...layers.map((l) => h("li", {}, h("code", { title: str(l.digest) }, shortDigest(str(l.digest))), ` ${bytes(num(l.size))} `, h("span", { class: "muted" }, str(l.media_type))))))
      : null,
    h(
      "section",
      {},
      h("h2", {}, "Referrers"),
      referrers.length === 0
        ? h("p", { class: "muted" }, "No signatures, SBOMs or attestations refer to this manifest.")
        : h("ul", { class: "tree" }, ...referrers.map((r) => h("li", {}, h("a", { href: `#/r/${name}/@${str(r.digest)}` }, str(r.artifact_type) || str(r.media_type)), ` ${shortDigest(str(r.digest))} ${bytes(num(r.size))}`))),
    ),
    await signatureSection(name, digest, who),
    Object.keys(obj(facts.annotations)).length > 0 ? h("section", {}, h("h2", {}, "Annotations"), kv(Object.entries(obj(facts.annotations)).map(([k, v]) => [k, str(v)]))) : null,
    str(config.media_type).includes("image.config") || str(config.media_type).includes("container.image") ? await configSection(name, str(config.digest)) : null,
    h("div", { class: "toolbar" }, deleteManifest),
  );
}
