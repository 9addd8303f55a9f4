/** Admin accounts: robot accounts for CI (create, disable, rotate, delete) and namespaces with their members. */
import { type Json, arr, del, get, post, str, strs } from "../api.ts";
import { copyButton, errorBox, h, render, toast } from "../dom.ts";
import { when } from "../format.ts";

function refresh(): void {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

async function act(action: () => Promise<unknown>, done: string): Promise<void> {
  try {
    await action();
    toast(done);
    refresh();
  } catch (error) {
    toast((error as Error).message);
  }
}

function showSecret(robot: Json): void {
  const secret = str(robot.secret);
  const dialog = h(
    "dialog",
    { "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, `Secret of ${str(robot.user) || `robot$${str(robot.name)}`}`),
    h("p", {}, "Shown once: store it in your CI's secrets now."),
    h("div", { class: "pull" }, h("code", { id: "robot-secret" }, secret), copyButton(secret, "Copy the secret")),
    h("button", { type: "button", onclick: () => dialog.close() }, "Done"),
  );
  document.body.appendChild(dialog);
  dialog.addEventListener("close", () => {
    dialog.remove();
    refresh();
  });
  dialog.showModal();
}

function createForm(): HTMLElement {
  const name = h("input", { type: "text", id: "robot-name", required: true, pattern: "[a-z0-9][a-z0-9._\\-]*" });
  const repositories = h("input", { type: "text", id: "robot-repositories", value: "team/**", required: true });
  const actions = h("input", { type: "text", id: "robot-actions", value: "pull,push", required: true });
  const expires = h("input", { type: "text", id: "robot-expires", value: "90d" });
  const form = h(
    "form",
    { class: "toolbar", "aria-label": "New robot account" },
    h("label", { for: "robot-name" }, "Name"),
    name,
    h("label", { for: "robot-repositories" }, "Repositories"),
    repositories,
    h("label", { for: "robot-actions" }, "Actions"),
    actions,
    h("label", { for: "robot-expires" }, "Expires in"),
    expires,
    h("button", { type: "submit", id: "robot-create" }, "Create robot"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const robot = await post("/api/v1/robots", {
        name: name.value,
        repositories: repositories.value.split(",").map((v) => v.trim()).filter(Boolean),
        actions: actions.value.split(",").map((v) => v.trim()).filter(Boolean),
        expires: expires.value.trim() || "never",
      });
      showSecret(robot);
    } catch (error) {
      toast((error as Error).message);
    }
  });
  return form;
}

function robotRow(robot: Json): HTMLElement {
  const name = str(robot.name);
  const path = `/api/v1/robots/${encodeURIComponent(name)}`;
  const disabled = robot.disabled === true;
  const expiresAt = str(robot.expires_at) ? Date.parse(str(robot.expires_at)) : null;
  const daysLeft = expiresAt === null ? null : Math.ceil((expiresAt - Date.now()) / 86_400_000);
  const state =
    robot.expired === true
      ? h("span", { class: "badge bad" }, "expired")
      : disabled
        ? h("span", { class: "badge warn" }, "disabled")
        : daysLeft !== null && daysLeft <= 7
          ? h("span", { class: "badge warn" }, `expires in ${daysLeft} day${daysLeft === 1 ? "" : "s"}`)
          : h("span", { class: "badge ok" }, "active");
  return h(
    "tr",
    { "data-robot": name },
    h("td", {}, h("code", {}, str(robot.user)), " ", state),
    h("td", {}, strs(robot.repositories).join(", ")),
    h("td", {}, strs(robot.actions).join(", ")),
    h("td", { class: "hide-narrow" }, str(robot.expires_at) ? new Date(str(robot.expires_at)).toLocaleDateString() : "never"),
    h("td", { class: "hide-narrow" }, `${when(str(robot.last_used_at) || null)}${str(robot.last_used_addr) ? ` from ${str(robot.last_used_addr)}` : ""}`),
    h(
      "td",
      {},
      h("button", { type: "button", "aria-label": `${disabled ? "Enable" : "Disable"} ${name}`, onclick: () => void act(() => post(`${path}/${disabled ? "enable" : "disable"}`), `${name} ${disabled ? "enabled" : "disabled"}`) }, disabled ? "Enable" : "Disable"),
      " ",
      h("button", { type: "button", "aria-label": `Rotate the secret of ${name}`, onclick: async () => showSecret(await post(`${path}/rotate`, { grace: "24h" })) }, "Rotate"),
      " ",
      h("button", { type: "button", class: "danger", "aria-label": `Delete ${name}`, onclick: () => window.confirm(`Delete robot ${name}? CI jobs using it stop working at once.`) && void act(() => del(path), `${name} deleted`) }, "Delete"),
    ),
  );
}

export async function accountsPage(): Promise<void> {
  render(h("h1", {}, "Accounts"), h("p", {}, "Loading…"));
  let robots: Json[];
  let namespaces: Json[];
  try {
    robots = arr((await get("/api/v1/robots")).robots);
    namespaces = arr((await get("/api/v1/namespaces")).namespaces);
  } catch (error) {
    render(h("h1", {}, "Accounts"), errorBox(error));
    return;
  }
  render(
    h("h1", {}, "Accounts"),
    h("h2", {}, "Robot accounts"),
    h("p", { class: "muted" }, "For CI: docker login -u 'robot$NAME' -p SECRET. A robot never gets more than its creator may do."),
    createForm(),
    robots.length === 0
      ? h("p", { class: "muted" }, "No robot yet.")
      : h(
          "div",
          { class: "table-wrap", tabindex: 0 },
          h(
            "table",
            { id: "robots" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Robot"), h("th", { scope: "col" }, "Repositories"), h("th", { scope: "col" }, "Actions"), h("th", { scope: "col", class: "hide-narrow" }, "Expires"), h("th", { scope: "col", class: "hide-narrow" }, "Last used"), h("th", { scope: "col" }, h("span", { class: "muted" }, "Manage")))),
            h("tbody", {}, ...robots.map(robotRow)),
          ),
        ),
    h("h2", {}, "Namespaces"),
    namespaces.length === 0
      ? h("p", { class: "muted" }, "No namespace roles: the [[access]] rules of registry.toml decide alone (berth ns create NAME adds one).")
      : h("ul", {}, ...namespaces.map((ns) => h("li", {}, h("strong", {}, str(ns.name)), ns.anonymous_pull === true ? h("span", { class: "badge" }, "anonymous pull") : null, ": ", arr(ns.members).map((m) => `${str(m.member)} (${str(m.role)})`).join(", ") || "no members"))),
  );
}
