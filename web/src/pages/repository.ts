/** One repository: its tags with sizes, platforms, dates, pulls, signature and immutability; deletes. */
import { type Json, type Me, arr, del, get, num, obj, rights, str, strs } from "../api.ts";
import { copyButton, errorBox, h, render, toast } from "../dom.ts";
import { bytes, platform, shortDigest, when } from "../format.ts";

interface Tag {
  name: string;
  digest: string;
  size: number;
  platforms: string[];
  pushedAt: string;
  pulledAt: string | null;
  pullCount: number;
}

function tagOf(t: Json): Tag {
  return {
    name: str(t.name),
    digest: str(t.digest),
    size: num(t.size),
    platforms: arr(t.platforms).map((p) => platform({ os: str(p.os), architecture: str(p.architecture), ...(str(p.variant) ? { variant: str(p.variant) } : {}) })),
    pushedAt: str(t.pushed_at),
    pulledAt: str(t.pulled_at) || null,
    pullCount: num(t.pull_count),
  };
}

/** Extra facts from plugins (admins only); absent plugins leave them empty. */
async function optional(path: string): Promise<Json> {
  try {
    return await get(path);
  } catch {
    return {};
  }
}

export async function repositoryPage(name: string, who: Me): Promise<void> {
  render(h("h1", {}, name), h("p", {}, "Loading…"));
  let tags: Tag[];
  let may: { push: boolean; delete: boolean };
  try {
    const body = await get(`/api/v1/repositories/${name}/tags?per_page=1000&sort=pushed`);
    tags = arr(body.tags).map(tagOf);
    may = await rights(name);
  } catch (error) {
    render(h("h1", {}, name), errorBox(error));
    return;
  }
  const none: Json = {};
  const immutable = new Set(strs((who.admin && who.features.retention ? await optional(`/api/v1/retention/immutable?repository=${encodeURIComponent(name)}`) : none).tags));
  const signatures = obj((who.admin && who.features.signing ? await optional(`/api/v1/signatures?repository=${encodeURIComponent(name)}`) : none).manifests);
  const byDigest = new Map<string, string[]>();
  for (const tag of tags) byDigest.set(tag.digest, [...(byDigest.get(tag.digest) ?? []), tag.name]);

  let sort: "pushed" | "name" | "size" = "pushed";
  let filter = "";
  const selected = new Set<string>();
  const body = h("tbody");
  const deleteButton = h("button", { type: "button", class: "danger", id: "delete-tags", disabled: true, hidden: !may.delete }, "Delete selected tags");
  const filterInput = h("input", { type: "search", placeholder: "Filter tags", "aria-label": "Filter tags" });
  filterInput.addEventListener("input", () => {
    filter = filterInput.value;
    draw();
  });
  const sortSelect = h("select", { "aria-label": "Sort tags by" }, h("option", { value: "pushed" }, "Last push"), h("option", { value: "name" }, "Name"), h("option", { value: "size" }, "Size"));
  sortSelect.addEventListener("change", () => {
    sort = sortSelect.value === "name" ? "name" : sortSelect.value === "size" ? "size" : "pushed";
    draw();
  });
  deleteButton.addEventListener("click", () => confirmDelete([...selected]));

  function badge(tag: Tag): HTMLElement | null {
    const state = str(obj(signatures[tag.digest]).state) || str(signatures[tag.digest]);
    if (!state) return null;
    const kind = state === "verified" ? "ok" : state === "invalid" ? "bad" : "warn";
    return h("span", { class: `badge ${kind}`, title: `signature: ${state}` }, state);
  }

  function draw(): void {
    const shown = tags
      .filter((t) => t.name.toLowerCase().includes(filter.toLowerCase()))
      .sort((a, b) => (sort === "name" ? a.name.localeCompare(b.name) : sort === "size" ? b.size - a.size : Date.parse(b.pushedAt) - Date.parse(a.pushedAt)));
    body.replaceChildren(
      ...shown.map((tag) => {
        const check = h("input", { type: "checkbox", "aria-label": `Select tag ${tag.name}`, checked: selected.has(tag.name), disabled: !may.delete || immutable.has(tag.name) });
        check.addEventListener("change", () => {
          if (check.checked) selected.add(tag.name);
          else selected.delete(tag.name);
          deleteButton.disabled = selected.size === 0;
        });
        const sharing = (byDigest.get(tag.digest) ?? []).filter((other) => other !== tag.name);
        return h(
          "tr",
          { "data-tag": tag.name },
          h("td", {}, check),
          h("td", {}, h("a", { href: `#/r/${name}/@${tag.digest}` }, tag.name), immutable.has(tag.name) ? h("span", { class: "badge", title: "immutable tag" }, "immutable") : null, badge(tag)),
          h("td", {}, h("code", { title: tag.digest }, shortDigest(tag.digest)), " ", copyButton(tag.digest, `Copy the digest of ${tag.name}`), sharing.length > 0 ? h("div", { class: "muted" }, `same digest as ${sharing.join(", ")}`) : null),
          h("td", { class: "num" }, bytes(tag.size)),
          h("td", { class: "hide-narrow" }, tag.platforms.join(", ") || "—"),
          h("td", { class: "hide-narrow" }, when(tag.pushedAt)),
          h("td", { class: "hide-narrow" }, when(tag.pulledAt)),
          h("td", { class: "num hide-narrow" }, tag.pullCount),
        );
      }),
    );
  }

  function confirmDelete(names: string[]): void {
    const digests = new Set(names.map((n) => tags.find((t) => t.name === n)?.digest ?? ""));
    const fates = [...digests].map((digest) => {
      const remaining = (byDigest.get(digest) ?? []).filter((t) => !names.includes(t));
      return remaining.length > 0
        ? `${shortDigest(digest)} stays: still tagged ${remaining.join(", ")}.`
        : `${shortDigest(digest)} keeps its manifest and layers, reachable by digest, untagged: garbage collection removes it only if untagged manifests are collected ([gc] untagged) or you delete the manifest.`;
    });
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, `Delete ${names.length === 1 ? `tag ${names[0]}` : `${names.length} tags`}?`),
      h("p", {}, `Only the tag${names.length === 1 ? "" : "s"} ${names.join(", ")} will be deleted.`),
      h("ul", {}, ...fates.map((f) => h("li", {}, f))),
      h("div", { class: "toolbar" }, h("button", { type: "button", class: "danger", id: "confirm-delete", onclick: () => void run() }, "Delete tags"), h("button", { type: "button", onclick: () => dialog.close() }, "Cancel")),
    );
    document.body.appendChild(dialog);
    dialog.addEventListener("close", () => dialog.remove());
    dialog.showModal();
    async function run(): Promise<void> {
      const failures: string[] = [];
      for (const tag of names) {
        try {
          await del(`/v2/${name}/manifests/${encodeURIComponent(tag)}`);
        } catch (error) {
          failures.push(`${tag}: ${(error as Error).message}`);
        }
      }
      dialog.close();
      toast(failures.length === 0 ? `Deleted ${names.join(", ")}` : `Not deleted: ${failures.join("; ")}`);
      await repositoryPage(name, who);
    }
  }

  const pull = `${who.registry}/${name}`;
  render(
    h("h1", {}, name),
    h("div", { class: "pull" }, h("code", {}, `docker pull ${pull}:TAG`), copyButton(`docker pull ${pull}`, "Copy the docker pull command")),
    h("div", { class: "toolbar" }, filterInput, sortSelect, deleteButton),
    h(
      "div",
      { class: "table-wrap", tabindex: 0 },
      h(
        "table",
        {},
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, h("span", { class: "muted" }, "Select")), h("th", { scope: "col" }, "Tag"), h("th", { scope: "col" }, "Digest"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col", class: "hide-narrow" }, "Platforms"), h("th", { scope: "col", class: "hide-narrow" }, "Pushed"), h("th", { scope: "col", class: "hide-narrow" }, "Last pulled"), h("th", { scope: "col", class: "num hide-narrow" }, "Pulls")),
        ),
        body,
      ),
    ),
    tags.length === 0 ? h("p", { class: "muted" }, "No tags.") : null,
  );
  draw();
}
