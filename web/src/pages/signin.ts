/** Sign in with the credentials of `docker login`, checked by the registry itself. */
import { ApiError, me, signIn, signOut } from "../api.ts";
import { errorBox, h, render } from "../dom.ts";

export function signInPage(reason: string | null, done: () => void): void {
  const user = h("input", { type: "text", id: "user", name: "username", autocomplete: "username", required: true });
  const password = h("input", { type: "password", id: "password", name: "password", autocomplete: "current-password", required: true });
  const problem = h("div", { "aria-live": "assertive" });
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("label", { for: "user" }, "User name"),
    user,
    h("label", { for: "password" }, "Password or token"),
    password,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    signIn(user.value, password.value);
    try {
      const who = await me();
      if (who.user === "") throw new ApiError("Sign-in is not needed: authentication is off on this registry", 400);
      done();
    } catch (error) {
      signOut();
      problem.replaceChildren(errorBox(error instanceof ApiError && error.status === 401 ? new Error("Wrong user name or password") : error));
    }
  });
  render(h("h1", { id: "signin-title" }, "Sign in"), reason ? h("p", {}, reason) : null, h("p", { class: "muted" }, "Use the same user name and password as docker login."), problem, form);
  user.focus();
}
