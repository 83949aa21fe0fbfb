// What every page of the regulator's workbench shares: the logged-in regulator (a tab without a
// regulator's session is sent to log in and back), who it is in the navigation, the forms'
// refusal helpers (the merchant console's), and paths in the API.
import { currentSession, loginUrl } from "../session.js";
import { initShell } from "../shell.js";
import { departmentLabel } from "./labels.js";

export { element } from "../dom.js";
export { clearErrors, settled, showFieldError, showFormError } from "../merchant/console.js";
export { showRefusal } from "../merchant/refusals.js";

// A merchant's path in the API: /merchants/<id><rest>.
export function merchantPath(merchantId, rest = "") {
  return `/merchants/${encodeURIComponent(merchantId)}${rest}`;
}

// The regulator's page of a merchant.
export function drillDownUrl(merchantId) {
  return `/regulator/merchants/${encodeURIComponent(merchantId)}`;
}

// The regulator of this tab ({subject, department}), or null after sending the browser to log
// in as one.
export function requireRegulator() {
  initShell();
  const session = currentSession();
  if (!session || session.role !== "regulator") {
    location.assign(loginUrl());
    return null;
  }
  const department = session.department ? ` · ${departmentLabel(session.department)}` : "";
  document.getElementById("regulator-name").textContent = `信用监管驾驶舱 · ${session.subject}${department}`;
  return { subject: session.subject, department: session.department ?? null };
}

// Coverage in basis points as a percentage with two decimals, from integers only:
// 12345 -> "123.45%"; null (nothing owed) -> "—".
export function formatBasisPoints(bp) {
  if (bp === null || bp === undefined) return "—";
  const whole = Math.trunc(bp / 100);
  const rest = String(Math.abs(bp % 100)).padStart(2, "0");
  return `${whole}.${rest}%`;
}

// Hours as the queue shows an age or an SLA: 5 -> "5小时", 50 -> "2天2小时".
export function formatHours(hours) {
  if (!Number.isFinite(hours)) return "—";
  const days = Math.floor(hours / 24);
  const left = hours % 24;
  return days ? `${days}天${left ? `${left}小时` : ""}` : `${left}小时`;
}
