// /app/cards/<id>: the card's balance, expiry and status, its card_code as grouped digits and
// as a QR code for the counter, its money history (each with its ledger receipt), the refund
// (quote first), and a complaint about it.
import { api } from "../api.js";
import { CARD_STATUSES, CARD_TYPES, HISTORY_TYPES, label } from "./labels.js";
import { markReady, merchantName, requireConsumer } from "./consumer.js";
import { element, fillFacts, idFromPath, link } from "./dom.js";
import { formatBalance, formatCardCode, formatDate, formatDateTime, formatFen } from "../format.js";
import { showQuotes } from "./refund.js";
import { announce } from "../shell.js";
import qrcode from "../../vendor/qrcode-generator/qrcode.mjs";

const cardId = idFromPath();
const path = `/cards/${encodeURIComponent(cardId)}`;

function showCode(code) {
  document.getElementById("code-digits").textContent = formatCardCode(code);
  const qr = qrcode(0, "M");
  qr.addData(code);
  qr.make();
  const img = document.getElementById("code-qr");
  img.src = qr.createDataURL(6, 4);
  img.alt = `卡码二维码：${formatCardCode(code)}`;
  img.hidden = false;
}

function showCard(card, name) {
  document.title = `${name} ${label(CARD_TYPES, card.type)} - 预付保`;
  document.getElementById("card-title").textContent = `${label(CARD_TYPES, card.type)}`;
  document.getElementById("card-merchant").replaceChildren(
    link(`/app/merchants/${encodeURIComponent(card.merchant_id)}`, name),
  );
  fillFacts(document.getElementById("card-facts"), [
    ["状态", label(CARD_STATUSES, card.status)],
    ["余额", formatBalance(card.type, card.balance)],
    ["到期日", formatDate(card.expires_at)],
    ["实付金额", formatFen(card.deposited)],
    ["存管中", formatFen(card.escrow_held)],
    ["已划付商户", formatFen(card.released_amount)],
    ["已退款", formatFen(card.refunded_amount)],
  ]);
  document.getElementById("card").dataset.status = card.status;
  if (card.card_code) showCode(card.card_code);
  // Shown while the card is active; after a refund it stays, showing what was refunded.
  if (card.status === "active") document.getElementById("refund").hidden = false;
  const about = new URLSearchParams({ card_id: card.card_id, merchant_id: card.merchant_id });
  document.getElementById("complain-card").href = `/app/complaints?${about}`;
}

function historyItem(item) {
  const row = element("li", "history-item");
  row.dataset.type = item.type;
  row.dataset.eventId = item.event_id;
  row.append(
    element("span", "history-what", label(HISTORY_TYPES, item.type)),
    element("span", "history-amount", formatFen(item.amount)),
    element("span", "history-time", formatDateTime(item.at)),
    link(`/app/receipts/${encodeURIComponent(item.event_id)}`, "查看凭证", "receipt-link"),
  );
  return row;
}

async function load() {
  const article = document.getElementById("card");
  try {
    const [card, history] = await Promise.all([api.get(path), api.get(`${path}/history`)]);
    showCard(card, await merchantName(card.merchant_id));
    const list = document.getElementById("history");
    list.replaceChildren(...history.items.map(historyItem));
    document.getElementById("history-empty").hidden = history.items.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    markReady(article);
  }
}

function initRefund() {
  const open = document.getElementById("refund-open");
  const quotes = document.getElementById("refund-quotes");
  open.addEventListener("click", async () => {
    open.disabled = true;
    try {
      await showQuotes(cardId, quotes, () => {
        open.hidden = true;
        load();
      });
    } catch (error) {
      announce(error.message);
    } finally {
      open.disabled = false;
    }
  });
}

if (requireConsumer()) {
  initRefund();
  load();
}
