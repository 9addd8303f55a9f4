/** Admin cleanup: GC status and run, retention preview / run / restore, quotas. */
import { type Me, arr, get, num, obj, post, str, strs } from "../api.ts";
import { errorBox, h, render, toast } from "../dom.ts";
import { bytes, shortDigest, when } from "../format.ts";

async function section(title: string, id: string, build: () => Promise<HTMLElement[]>): Promise<HTMLElement> {
  let content: HTMLElement[];
  try {
    content = await build();
  } catch (error) {
    const status = (error as { status?: number }).status;
    content = [status === 404 ? h("p", { class: "muted" }, "Not configured on this registry.") : errorBox(error)];
  }
  return h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

async function gc(): Promise<HTMLElement[]> {
  const status = await get("/api/v1/gc");
  const runs = arr(status.runs);
  const waiting = arr(status.waiting);
  const waitingBytes = waiting.reduce((sum, blob) => sum + num(blob.size), 0);
  const runButton = h("button", { type: "button", id: "gc-run" }, "Run garbage collection now");
  runButton.addEventListener("click", async () => {
    runButton.disabled = true;
    try {
      const report = await post("/api/v1/gc");
      toast(`GC freed ${bytes(num(report.bytes_freed))} (${num(report.blobs_deleted)} blobs)`);
      refresh();
    } catch (error) {
      toast((error as Error).message);
      runButton.disabled = false;
    }
  });
  return [
    h("p", {}, `${num(status.waiting_count)} blobs (${bytes(waitingBytes)} listed) wait for their review time before GC frees them.`),
    runButton,
    runs.length === 0
      ? h("p", { class: "muted" }, "No GC run yet.")
      : h("ul", {}, ...runs.slice(0, 5).map((run) => h("li", {}, `${when(str(run.started_at))}: ${num(run.blobs_deleted)} blobs, ${bytes(num(run.bytes_freed))} freed, ${num(run.manifests_deleted)} manifests${run.dry_run === true ? " (dry run)" : ""}`))),
  ];
}

async function retention(): Promise<HTMLElement[]> {
  const preview = await get("/api/v1/retention/preview");
  const repositories = arr(preview.repositories);
  const runButton = h("button", { type: "button", class: "danger", id: "retention-run", disabled: repositories.length === 0 }, "Run retention now");
  runButton.addEventListener("click", async () => {
    if (!window.confirm("Delete every tag and manifest the preview lists? Removed tags stay restorable for the undo window.")) return;
    try {
      const report = await post("/api/v1/retention/run");
      toast(`Retention deleted ${num(report.deleted_tags)} tags and ${num(report.deleted_manifests)} manifests`);
      refresh();
    } catch (error) {
      toast((error as Error).message);
    }
  });
  const rows = repositories.flatMap((repository) => [
    ...arr(repository.tags).map((tag) => h("tr", {}, h("td", {}, `${str(repository.name)}:${str(tag.tag)}`), h("td", {}, h("code", {}, shortDigest(str(tag.digest)))), h("td", { class: "num" }, bytes(num(tag.size))), h("td", {}, `policy ${num(repository.policy)}${repository.dry_run === true ? " (dry run)" : ""}: ${strs(tag.reasons).join("; ")}`))),
    ...arr(repository.manifests).map((m) => h("tr", {}, h("td", {}, `${str(repository.name)}@${shortDigest(str(m.digest))}`), h("td", {}, "manifest"), h("td", { class: "num" }, bytes(num(m.size))), h("td", {}, str(m.reason)))),
  ]);
  const runs = arr((await get("/api/v1/retention/runs?n=5")).runs);
  const restorable = runs.flatMap((run) =>
    arr(obj(run.plan).repositories).flatMap((repository) => (run.dry_run === true || repository.dry_run === true ? [] : arr(repository.tags).map((tag) => ({ repository: str(repository.name), tag: str(tag.tag), when: str(run.started_at) })))),
  );
  return [
    h("p", {}, `${rows.length} deletions would free ${bytes(num(preview.bytes_freed_after_gc))} after GC.`),
    runButton,
    rows.length === 0
      ? h("p", { class: "muted" }, "Nothing to delete.")
      : h("div", { class: "table-wrap", tabindex: 0 }, h("table", { id: "retention-preview" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Digest"), h("th", { scope: "col", class: "num" }, "Size"), h("th", { scope: "col" }, "Why"))), h("tbody", {}, ...rows))),
    h("h2", {}, "Recently removed by retention"),
    restorable.length === 0
      ? h("p", { class: "muted" }, "Nothing removed recently.")
      : h(
          "ul",
          {},
          ...restorable.slice(0, 20).map((item) => {
            const button = h("button", { type: "button", "aria-label": `Restore ${item.repository}:${item.tag}` }, "Restore");
            button.addEventListener("click", async () => {
              try {
                await post(`/api/v1/repositories/${item.repository}/tags/${encodeURIComponent(item.tag)}/restore`);
                toast(`Restored ${item.repository}:${item.tag}`);
              } catch (error) {
                toast((error as Error).message);
              }
            });
            return h("li", {}, `${item.repository}:${item.tag} (${when(item.when)}) `, button);
          }),
        ),
  ];
}

async function quotas(): Promise<HTMLElement[]> {
  const list = arr((await get("/api/v1/quotas")).quotas);
  if (list.length === 0) return [h("p", { class: "muted" }, "No quota is set.")];
  return [h("ul", {}, ...list.map((q) => h("li", {}, `${strs(q.repositories).join(", ")}: ${bytes(num(q.used_bytes))} of ${bytes(num(q.max_bytes))}`)))];
}

/** Draws the page again through the router (fresh identity and data). */
function refresh(): void {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

const absent = (what: string) => async () => [h("p", { class: "muted" }, `No ${what} is configured on this registry.`)];

export async function cleanupPage(who: Me): Promise<void> {
  render(h("h1", {}, "Cleanup"), h("p", {}, "Loading…"));
  const parts = await Promise.all([
    section("Garbage collection", "gc-title", gc),
    section("Retention", "retention-title", who.features.retention ? retention : absent("retention policy")),
    section("Quotas", "quota-title", who.features.quotas ? quotas : absent("quota")),
  ]);
  render(h("h1", {}, "Cleanup"), ...parts);
}
