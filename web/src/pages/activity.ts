/** Admin activity: webhook endpoints and deliveries (the events they carry), with redeliver. */
import { type Me, arr, get, num, obj, post, str } from "../api.ts";
import { errorBox, h, render, toast } from "../dom.ts";
import { when } from "../format.ts";

/** Replication rules and their state (GET /api/v1/replication), when [[replication]] is configured. */
async function replicationSection(who: Me): Promise<HTMLElement | null> {
  if (!who.features.replication) return null;
  try {
    const rules = arr((await get("/api/v1/replication")).rules);
    return h(
      "section",
      {},
      h("h2", {}, "Replication"),
      h(
        "div",
        { class: "table-wrap", tabindex: 0 },
        h(
          "table",
          { id: "replication" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Rule"), h("th", { scope: "col" }, "Target"), h("th", { scope: "col" }, "State"), h("th", { scope: "col", class: "num" }, "Pending"), h("th", { scope: "col" }, "Last success"), h("th", { scope: "col", class: "hide-narrow" }, "Last error"))),
          h(
            "tbody",
            {},
            ...rules.map((r) =>
              h("tr", {}, h("td", {}, str(r.name)), h("td", {}, str(r.url)), h("td", {}, h("span", { class: `badge ${str(r.state) === "in_sync" ? "ok" : str(r.state) === "retrying" ? "bad" : "warn"}` }, str(r.state))), h("td", { class: "num" }, num(r.pending)), h("td", {}, when(str(r.last_success_at) || null)), h("td", { class: "hide-narrow" }, str(r.last_error) || "—")),
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    return errorBox(error);
  }
}

/** The newest audit entries: pushes, deletes, mounts, runs, logins, denials, admin calls. */
async function recentSection(): Promise<HTMLElement> {
  try {
    const entries = arr((await get("/api/v1/audit?limit=50")).entries);
    return h(
      "section",
      {},
      h("h2", {}, "Recent changes"),
      h("p", { class: "muted" }, "Pushes, deletes, runs, sign-ins and admin calls, from the audit log."),
      entries.length === 0
        ? h("p", { class: "muted" }, "Nothing yet.")
        : h(
            "div",
            { class: "table-wrap", tabindex: 0 },
            h(
              "table",
              { id: "audit" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "What"), h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "Result"))),
              h(
                "tbody",
                {},
                ...entries.map((e) => {
                  const target = [str(e.repository), str(e.tag) ? `:${str(e.tag)}` : "", !str(e.tag) && str(e.digest) ? `@${str(e.digest).slice(7, 19)}` : ""].join("");
                  const result = str(e.result);
                  return h("tr", {}, h("td", {}, when(str(e.time) || null)), h("td", {}, `${str(e.action)} ${target}`), h("td", {}, `${str(e.actor) || "anonymous"}${str(e.addr) ? ` (${str(e.addr)})` : ""}`), h("td", {}, h("span", { class: `badge ${result === "ok" ? "ok" : result === "denied" ? "bad" : "warn"}` }, result)));
                }),
              ),
            ),
          ),
    );
  } catch (error) {
    return errorBox(error);
  }
}

/** The images pulled last (GET /api/v1/pulls, from the metadata index's pull times). */
async function pullsSection(): Promise<HTMLElement> {
  try {
    const pulls = arr((await get("/api/v1/pulls?limit=20")).pulls);
    return h(
      "section",
      {},
      h("h2", {}, "Recent pulls"),
      pulls.length === 0
        ? h("p", { class: "muted" }, "Nothing pulled yet.")
        : h(
            "ul",
            { id: "pulls" },
            ...pulls.map((p) => {
              const name = str(p.repository);
              const digest = str(p.digest);
              const tags = Array.isArray(p.tags) ? p.tags.map(String) : [];
              return h("li", {}, h("a", { href: `#/r/${name}/@${digest}` }, `${name}${tags.length > 0 ? `:${tags.join(", ")}` : `@${digest.slice(7, 19)}`}`), ` ${when(str(p.pulled_at) || null)}, ${num(p.pull_count)} pulls`);
            }),
          ),
    );
  } catch (error) {
    return errorBox(error);
  }
}

export async function activityPage(who: Me): Promise<void> {
  const replication = await replicationSection(who);
  const recent = await recentSection();
  const pulls = await pullsSection();
  if (!who.features.webhooks) {
    render(h("h1", {}, "Activity"), recent, pulls, replication, h("p", {}, "No webhook endpoint is configured: events are delivered nowhere, so there is no event list to show. Add [[webhook.endpoints]] to registry.toml."));
    return;
  }
  render(h("h1", {}, "Activity"), h("p", {}, "Loading…"));
  let endpoints;
  let deliveries;
  try {
    endpoints = arr((await get("/api/webhooks/endpoints")).endpoints);
    deliveries = arr((await get("/api/webhooks/deliveries?limit=100")).deliveries);
  } catch (error) {
    const status = (error as { status?: number }).status;
    render(h("h1", {}, "Activity"), status === 404 ? h("p", {}, "No webhook endpoint is configured: events are delivered nowhere, so there is no activity to show. Add [[webhook.endpoints]] to registry.toml.") : errorBox(error));
    return;
  }
  render(
    h("h1", {}, "Activity"),
    recent,
    pulls,
    replication,
    h("h2", {}, "Webhook endpoints"),
    h("ul", {}, ...endpoints.map((e) => h("li", {}, `${str(e.name)} → ${str(e.url)}: `, Object.entries(obj(e.counts)).map(([k, v]) => `${num(v)} ${k}`).join(", ")))),
    h("h2", {}, "Recent events and their deliveries"),
    deliveries.length === 0
      ? h("p", { class: "muted" }, "No event yet.")
      : h(
          "div",
          { class: "table-wrap", tabindex: 0 },
          h(
            "table",
            { id: "deliveries" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Endpoint"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, "Attempts"), h("th", { scope: "col", class: "hide-narrow" }, "Last error"), h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, h("span", { class: "muted" }, "Action")))),
            h(
              "tbody",
              {},
              ...deliveries.map((d) => {
                const button = h("button", { type: "button", "aria-label": `Redeliver ${str(d.action)} of ${str(d.repository)}` }, "Redeliver");
                button.addEventListener("click", async () => {
                  try {
                    await post(`/api/webhooks/deliveries/${str(d.id)}/redeliver`);
                    toast("Queued for delivery");
                    window.dispatchEvent(new HashChangeEvent("hashchange"));
                  } catch (error) {
                    toast((error as Error).message);
                  }
                });
                const status = str(d.status);
                return h(
                  "tr",
                  {},
                  h("td", {}, `${str(d.action)} ${str(d.repository)}${str(d.tag) ? `:${str(d.tag)}` : ""}`),
                  h("td", {}, str(d.endpoint)),
                  h("td", {}, h("span", { class: `badge ${status === "delivered" ? "ok" : status === "dead" ? "bad" : "warn"}` }, status)),
                  h("td", { class: "num" }, num(d.attempts)),
                  h("td", { class: "hide-narrow" }, str(d.lastError) || "—"),
                  h("td", {}, when(str(d.createdAt) || null)),
                  h("td", {}, button),
                );
              }),
            ),
          ),
        ),
  );
}
