// What every /app/ page shares: a consumer's session (else the login page, and back), the
// names of merchants (public GET /merchants/{id}, fetched once per page), and a card's line.
import { api } from "../api.js";
import { CARD_TYPES, label } from "./labels.js";
import { loginUrl } from "../session.js";
import { initShell } from "../shell.js";

// The page's consumer session; without one the browser goes to the login page (and returns).
export function requireConsumer() {
  const session = initShell();
  if (!session || session.role !== "consumer") {
    location.assign(loginUrl());
    return null;
  }
  return session;
}

const merchants = new Map();

export function merchantOf(merchantId) {
  if (!merchants.has(merchantId)) {
    merchants.set(
      merchantId,
      api.get(`/merchants/${encodeURIComponent(merchantId)}`).catch(() => null),
    );
  }
  return merchants.get(merchantId);
}

export async function merchantName(merchantId) {
  const merchant = await merchantOf(merchantId);
  return merchant ? merchant.name : "商户";
}

// "某健身 · 储值卡 · 尾号9012": a card named as its holder knows it.
export function cardLabel(card, name) {
  const tail = card.card_code ? ` · 尾号${String(card.card_code).slice(-4)}` : "";
  return `${name} · ${label(CARD_TYPES, card.type)}${tail}`;
}

export function markReady(node) {
  node.dataset.state = "loaded";
}
