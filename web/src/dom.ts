/** Building DOM nodes without HTML strings: text is always text, never markup. */
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | boolean | number | ((event: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces the page's content and moves focus to it (screen readers hear the new page). */
export function render(...children: Child[]): void {
  const main = document.getElementById("main");
  if (!main) return;
  main.replaceChildren();
  append(main, ...children);
}

export function toast(message: string): void {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  setTimeout(() => {
    if (box.textContent === message) box.textContent = "";
  }, 3000);
}

export async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied");
  } catch {
    toast("Copy failed: select the text and copy it");
  }
}

export function copyButton(text: string, label: string): HTMLButtonElement {
  return h("button", { type: "button", "aria-label": label, onclick: () => void copy(text) }, "Copy");
}

export function errorBox(error: unknown): HTMLElement {
  return h("div", { class: "error", role: "alert" }, error instanceof Error ? error.message : String(error));
}
