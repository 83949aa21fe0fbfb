// What every page's frame does: show who is logged in, log out (POST /api/v1/auth/logout,
// which revokes the token), and announce status messages in the polite live region.
import { api, userAction } from "./api.js";
import { clearSession, currentSession } from "./session.js";

export const ROLE_LABELS = Object.freeze({
  consumer: "消费者",
  merchant: "商户",
  regulator: "监管人员",
  inspector: "执法检查人员",
  bank: "存管银行",
  operator: "运营人员",
});

export function announce(message) {
  const region = document.getElementById("status");
  // Emptied first, so the same message said twice is read twice.
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

async function logout(button) {
  button.disabled = true;
  try {
    await api.post("/auth/logout", undefined, userAction(), { loginOn401: false });
  } catch {
    // An expired or revoked token is logged out already; the tab forgets it either way.
  }
  clearSession();
  location.assign("/");
}

export function initShell() {
  const session = currentSession();
  const role = document.getElementById("session-role");
  const button = document.getElementById("logout");
  const login = document.getElementById("login-link");
  if (session) {
    role.textContent = `当前身份：${ROLE_LABELS[session.role] ?? session.role}`;
    role.hidden = false;
    button.hidden = false;
    login.hidden = true;
    button.addEventListener("click", () => logout(button));
  }
  return session;
}
