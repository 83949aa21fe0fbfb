// What the inspector's pages share: the inspector's session (else the login page, and back),
// merchants' public names, and marking a container loaded for styles and tests.
import { api } from "../api.js";
import { currentSession, loginUrl } from "../session.js";
import { initShell } from "../shell.js";

export function requireInspector() {
  const session = initShell();
  if (!session || session.role !== "inspector") {
    location.assign(loginUrl());
    return null;
  }
  return session;
}

const merchants = new Map();

// The merchant's public record (GET /merchants/{id}), fetched once per page; null if unknown.
export function merchantOf(merchantId) {
  if (!merchants.has(merchantId)) {
    merchants.set(merchantId, api.get(`/merchants/${encodeURIComponent(merchantId)}`).catch(() => null));
  }
  return merchants.get(merchantId);
}

export function markReady(node) {
  node.dataset.state = "loaded";
}
