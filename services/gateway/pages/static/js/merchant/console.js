// What every page of the merchant's console shares: the logged-in merchant (a tab without a
// merchant's session is sent to log in and back), its name in the navigation, and small DOM
// helpers. The merchant is the token's subject: its merchant_id.
import { api } from "../api.js";
import { currentSession, loginUrl } from "../session.js";
import { initShell } from "../shell.js";

export { element } from "../dom.js";

// A merchant's path in the API: /merchants/<id><rest>.
export function merchantPath(merchantId, rest = "") {
  return `/merchants/${encodeURIComponent(merchantId)}${rest}`;
}

// The merchant of this tab, or null after sending the browser to log in as one.
export function requireMerchant() {
  initShell();
  const session = currentSession();
  if (!session || session.role !== "merchant") {
    location.assign(loginUrl());
    return null;
  }
  const merchantId = session.subject;
  api
    .get(merchantPath(merchantId))
    .then((merchant) => {
      document.getElementById("merchant-name").textContent = `${merchant.name} · 商户工作台`;
    })
    .catch(() => {
      // The name is a courtesy; each panel reports its own failures.
    });
  return merchantId;
}

// Marks a container as loaded (or failed) for styles and tests: data-state="loaded".
export function settled(node) {
  node.dataset.state = "loaded";
}

// A form's refusals: each field's message in its #<name>-error slot, beside the field
// (aria-describedby already points there), and whatever names no field in `general`.
export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const general = form.querySelector(".form-error");
  if (general) general.textContent = "";
}

export function showFieldError(form, field, message) {
  const slot = form.querySelector(`#${form.id}-${field}-error`);
  const input = form.elements[field];
  if (!slot || !input) return false;
  slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
  if (input instanceof Element) input.setAttribute("aria-invalid", "true"); // not a radio group
  return true;
}

export function showFormError(form, message) {
  form.querySelector(".form-error").textContent = message;
}
