// Small DOM helpers for the consumer's pages, over ../dom.js's element (textContent only).
import { element } from "../dom.js";

export { element };

export function link(href, text, className) {
  const node = element("a", className, text);
  node.href = href;
  return node;
}

export function button(text, className = "weui-btn weui-btn_mini weui-btn_default") {
  const node = element("button", className, text);
  node.type = "button";
  return node;
}

// A definition list's rows: [[term, value], ...]; a null value skips its row.
export function fillFacts(list, rows) {
  list.replaceChildren();
  for (const [term, value] of rows) {
    if (value === null || value === undefined) continue;
    list.append(element("dt", "", term), element("dd", "", value));
  }
}

// The last path segment of this page's address (the id in /app/cards/<id>).
export function idFromPath() {
  return decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
}

export const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));
