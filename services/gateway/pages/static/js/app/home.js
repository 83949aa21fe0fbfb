// /app/: my cards (balance in the card's own unit, expiry, status) and, above them, the
// spends waiting for me, live.
import { api } from "../api.js";
import { CARD_STATUSES, label } from "./labels.js";
import { cardLabel, markReady, merchantName, requireConsumer } from "./consumer.js";
import { element, link } from "./dom.js";
import { formatBalance, formatDate } from "../format.js";
import { announce } from "../shell.js";
import { watchSpends } from "./pending-spends.js";

async function cardItem(card) {
  const name = await merchantName(card.merchant_id);
  const item = element("li", "card-item");
  item.dataset.cardId = card.card_id;
  const title = element("h3", "card-name");
  title.append(link(`/app/cards/${encodeURIComponent(card.card_id)}`, cardLabel(card, name)));
  const balance = element("p", "card-balance");
  balance.append(element("span", "balance-label", "余额 "), element("strong", "balance-value", formatBalance(card.type, card.balance)));
  item.append(
    title,
    balance,
    element("p", "card-meta", `${label(CARD_STATUSES, card.status)} · ${formatDate(card.expires_at)}到期`),
  );
  item.dataset.type = card.type;
  return item;
}

async function loadCards() {
  const list = document.getElementById("cards");
  try {
    const items = [];
    let cursor;
    do {
      const page = await api.get("/consumers/me/cards", { limit: 100, cursor });
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    list.replaceChildren(...(await Promise.all(items.map(cardItem))));
    document.getElementById("cards-empty").hidden = items.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    markReady(list);
  }
}

if (requireConsumer()) {
  watchSpends();
  loadCards();
}
