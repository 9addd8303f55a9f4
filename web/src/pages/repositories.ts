/** The repository list: search as you type, sort, server-side paging, flat or by namespace. */
import { type Me, arr, get, num, str } from "../api.ts";
import { h, errorBox, render } from "../dom.ts";
import { bytes, when } from "../format.ts";

const PER_PAGE = 50;

interface Query {
  q: string;
  sort: string;
  page: number;
  view: string;
}

function hashFor(query: Query): string {
  const params = new URLSearchParams({ q: query.q, sort: query.sort, page: String(query.page), view: query.view });
  return `#/?${params}`;
}

export async function repositoriesPage(params: URLSearchParams, who: Me): Promise<void> {
  const query: Query = { q: params.get("q") ?? "", sort: params.get("sort") ?? "name", page: Math.max(1, Number(params.get("page") ?? 1) || 1), view: params.get("view") ?? "flat" };
  const results = h("div", { id: "results", "aria-live": "polite" }, "Loading…");
  const search = h("input", { type: "search", id: "search", value: query.q, placeholder: "Search repositories", "aria-label": "Search repositories" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      history.replaceState(null, "", hashFor({ ...query, q: search.value, page: 1 }));
      query.q = search.value;
      query.page = 1;
      void load();
    }, 200);
  });
  const sort = h(
    "select",
    { id: "sort", "aria-label": "Sort by" },
    ...[
      ["name", "Name"],
      ["pushed", "Last push"],
      ["size", "Size"],
    ].map(([value, label]) => h("option", { value: value ?? "", selected: value === query.sort }, label ?? "")),
  );
  sort.addEventListener("change", () => {
    clearTimeout(timer); // the search box's text counts now, not after its delay
    location.hash = hashFor({ ...query, q: search.value, sort: sort.value, page: 1 });
  });
  const view = h("button", { type: "button", id: "view", onclick: () => (location.hash = hashFor({ ...query, q: search.value, view: query.view === "flat" ? "tree" : "flat" })) }, query.view === "flat" ? "Show namespaces" : "Show flat list");
  const usage = h("div", { class: "cards", id: "usage" });
  render(h("h1", {}, "Repositories"), usage, h("div", { class: "toolbar" }, search, h("label", { for: "sort" }, "Sort"), sort, view), results);
  if (document.activeElement === document.body || params.has("q")) search.focus();

  async function load(): Promise<void> {
    try {
      const perPage = query.view === "tree" ? 1000 : PER_PAGE;
      const api = new URLSearchParams({ q: query.q, sort: query.sort, page: String(query.page), per_page: String(perPage) });
      const body = await get(`/api/v1/repositories?${api}`);
      const repositories = arr(body.repositories);
      const total = num(body.total);
      const mirrors = who.admin && who.features.proxy ? await cachedRepositories() : new Map<string, string>();
      results.replaceChildren(query.view === "tree" ? tree(repositories) : table(repositories, mirrors), pager(total, perPage));
    } catch (error) {
      results.replaceChildren(errorBox(error));
    }
  }

  function pager(total: number, perPage: number): HTMLElement {
    const pages = Math.max(1, Math.ceil(total / perPage));
    return h(
      "nav",
      { class: "pager", "aria-label": "Pages" },
      h("span", {}, `${total} repositories`),
      query.page > 1 ? h("a", { href: hashFor({ ...query, page: query.page - 1 }) }, "Previous") : null,
      h("span", {}, `page ${query.page} of ${pages}`),
      query.page < pages ? h("a", { href: hashFor({ ...query, page: query.page + 1 }) }, "Next") : null,
    );
  }
  await load();
  // after the list: on a big registry the usage sums take longer than the first page
  if (who.admin) void loadUsage(usage);
}

function link(name: string): HTMLAnchorElement {
  return h("a", { href: `#/r/${name}` }, name);
}

/** Repositories the pull-through cache filled, with their upstream (admins; GET /api/v1/proxy). */
async function cachedRepositories(): Promise<Map<string, string>> {
  try {
    return new Map(arr((await get("/api/v1/proxy")).repositories).map((r) => [str(r.name), str(r.upstream)]));
  } catch {
    return new Map();
  }
}

function table(repositories: Array<Record<string, unknown>>, mirrors: Map<string, string> = new Map()): HTMLElement {
  if (repositories.length === 0) return h("p", { class: "muted" }, "No repository matches.");
  return h(
    "div",
    { class: "table-wrap", tabindex: 0 },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col", class: "num" }, "Tags"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col", class: "hide-narrow" }, "Last push"), h("th", { scope: "col", class: "hide-narrow" }, "Last pull"))),
      h(
        "tbody",
        {},
        ...repositories.map((r) =>
          h("tr", {}, h("td", {}, link(str(r.name)), mirrors.has(str(r.name)) ? h("span", { class: "badge", title: `cached from ${mirrors.get(str(r.name))}` }, "mirror") : null), h("td", { class: "num" }, num(r.tags)), h("td", { class: "num" }, bytes(num(r.size))), h("td", { class: "hide-narrow" }, when(str(r.pushed_at) || null)), h("td", { class: "hide-narrow" }, when(str(r.pulled_at) || null))),
        ),
      ),
    ),
  );
}

function tree(repositories: Array<Record<string, unknown>>): HTMLElement {
  const groups = new Map<string, Array<Record<string, unknown>>>();
  for (const repository of repositories) {
    const name = str(repository.name);
    const namespace = name.includes("/") ? name.slice(0, name.indexOf("/")) : "(top level)";
    groups.set(namespace, [...(groups.get(namespace) ?? []), repository]);
  }
  return h(
    "div",
    { class: "tree" },
    ...[...groups].map(([namespace, members]) =>
      h("details", { open: true }, h("summary", {}, `${namespace} (${members.length}, ${bytes(members.reduce((sum, m) => sum + num(m.size), 0))})`), h("ul", {}, ...members.map((m) => h("li", {}, link(str(m.name)), h("span", { class: "muted" }, ` ${bytes(num(m.size))}`))))),
    ),
  );
}

async function loadUsage(box: HTMLElement): Promise<void> {
  try {
    const usage = await get("/api/v1/usage");
    const card = (label: string, value: string) => h("div", { class: "card" }, h("div", { class: "muted" }, label), h("div", { class: "value" }, value));
    const namespaces = arr(usage.namespaces).slice(0, 4);
    box.replaceChildren(
      card("Stored", bytes(num(usage.stored_bytes))),
      card("Waiting for GC", bytes(num(usage.gc_waiting_bytes))),
      ...namespaces.map((n) => card(`Namespace ${str(n.name)}`, bytes(num(n.size)))),
    );
  } catch {
    box.replaceChildren();
  }
}
