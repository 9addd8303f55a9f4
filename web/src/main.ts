/**
 * The Berth web UI: a hash-routed single-page app on the registry's own origin.
 *   #/                     repositories        #/r/NAME            a repository's tags
 *   #/r/NAME/@DIGEST       one manifest        #/cleanup, #/activity (admins)   #/signin
 */
import { ApiError, type Me, credentials, me, signOut } from "./api.ts";
import { errorBox, h, render } from "./dom.ts";
import { accountsPage } from "./pages/accounts.ts";
import { activityPage } from "./pages/activity.ts";
import { cleanupPage } from "./pages/cleanup.ts";
import { imagePage } from "./pages/image.ts";
import { repositoriesPage } from "./pages/repositories.ts";
import { repositoryPage } from "./pages/repository.ts";
import { signInPage } from "./pages/signin.ts";

const THEME_KEY = "berth.theme";

function applyTheme(): void {
  const theme = localStorage.getItem(THEME_KEY);
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme(): void {
  const dark = document.documentElement.dataset.theme === "dark" || (!document.documentElement.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
  localStorage.setItem(THEME_KEY, dark ? "light" : "dark");
  applyTheme();
}

function showIdentity(who: Me): void {
  const name = document.getElementById("who");
  if (name) name.textContent = who.user === "" ? (who.auth === "off" ? "" : "anonymous") : who.user;
  const signin = document.getElementById("signin");
  const signout = document.getElementById("signout");
  if (signin) signin.hidden = who.auth === "off" || who.user !== "";
  if (signout) signout.hidden = who.user === "";
  for (const link of document.querySelectorAll<HTMLElement>("[data-admin]")) link.hidden = !who.admin;
  const accounts = document.getElementById("accounts-link");
  if (accounts) accounts.hidden = !who.admin || who.auth === "off";
}

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = hash.split("?", 2);
  let who: Me;
  try {
    who = await me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && credentials()) {
      signOut();
      return signInPage("Your sign-in is no longer valid.", () => void route());
    }
    render(errorBox(error));
    return;
  }
  showIdentity(who);
  if (path === "/signin") return signInPage(null, () => (location.hash = "#/"));
  if (!who.catalog && who.user === "") return signInPage("This registry needs you to sign in.", () => void route());
  try {
    const image = /^\/r\/(.+)\/@(sha256:[0-9a-f]{64})$/.exec(path);
    if (image) return await imagePage(image[1] ?? "", image[2] ?? "", who);
    const repository = /^\/r\/(.+)$/.exec(path);
    if (repository) return await repositoryPage(repository[1] ?? "", who);
    if (path === "/cleanup") return who.admin ? await cleanupPage(who) : render(h("h1", {}, "Cleanup"), errorBox("Only administrators can clean up the registry."));
    if (path === "/accounts") return who.admin && who.auth !== "off" ? await accountsPage() : render(h("h1", {}, "Accounts"), errorBox(who.auth === "off" ? "Authentication is off: there are no accounts to manage." : "Only administrators can manage accounts."));
    if (path === "/activity") return who.admin ? await activityPage(who) : render(h("h1", {}, "Activity"), errorBox("Only administrators can see the activity."));
    return await repositoriesPage(new URLSearchParams(query), who);
  } catch (error) {
    render(errorBox(error));
  }
}

applyTheme();
document.getElementById("theme")?.addEventListener("click", toggleTheme);
document.getElementById("signout")?.addEventListener("click", () => {
  signOut();
  location.hash = "#/";
  void route();
});
window.addEventListener("hashchange", () => void route());
void route();
