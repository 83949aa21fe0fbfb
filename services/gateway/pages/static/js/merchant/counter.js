// /merchant/counter: the card in front of the merchant, found by the code the customer shows
// (typed, pasted with spaces, or a USB scanner typing it and Enter), then a spend request
// (元 for stored value, uses for a count card, a check-in for a period card) watched live:
// the request's status is polled about every second while it waits for the customer, and
// its outcome (已确认, 已拒绝, 已过期) is announced.
import { api, userAction } from "../api.js";
import { formatDateTime, formatFen, parseYuanToFen } from "../format.js";
import { announce } from "../shell.js";
import { CARD_STATUSES, CARD_TYPES, REDEMPTION_STATUSES } from "./labels.js";
import { clearErrors, merchantPath, requireMerchant, showFieldError, showFormError } from "./console.js";
import { focusFirstInvalid, showRefusal } from "./refusals.js";

const POLL_MS = 1000;
const merchantId = requireMerchant();
const lookupForm = document.getElementById("lookup");
const spendForm = document.getElementById("spend");
const cardPanel = document.getElementById("card");
const requestPanel = document.getElementById("request");
const stateLine = document.getElementById("request-state");
let card = null;
let watching = null;

function balanceText(found) {
  const balance = found.balance ?? {};
  if (found.type === "stored_value") return formatFen(balance.value ?? 0);
  if (found.type === "count") return `${balance.uses ?? 0}次`;
  return `剩余${balance.days_left ?? 0}天`;
}

function showCard(found) {
  card = found;
  cardPanel.hidden = false;
  cardPanel.dataset.cardId = found.card_id;
  document.getElementById("card-type").textContent = CARD_TYPES[found.type] ?? found.type;
  document.getElementById("card-balance").textContent = balanceText(found);
  document.getElementById("card-status").textContent = CARD_STATUSES[found.status] ?? found.status;
  document.getElementById("card-expires").textContent = found.expires_at ? formatDateTime(found.expires_at) : "—";
  for (const node of spendForm.querySelectorAll("[data-types]")) node.hidden = node.dataset.types !== found.type;
  clearErrors(spendForm);
  spendForm.elements.amount.value = "";
  spendForm.elements.uses.value = "1";
}

async function lookUp(event) {
  event?.preventDefault();
  clearErrors(lookupForm);
  // Digits only: the code may come with spaces or hyphens (typed, pasted, or shown in groups).
  const code = lookupForm.elements.card_code.value.replace(/[\s-]/g, "");
  if (!code) {
    showFieldError(lookupForm, "card_code", "请输入卡码。");
    focusFirstInvalid(lookupForm);
    return;
  }
  try {
    const found = await api.post(merchantPath(merchantId, "/counter/lookup"), { card_code: code }, userAction());
    showCard(found);
    announce(`已找到${CARD_TYPES[found.type] ?? ""}，余额${balanceText(found)}`);
    const first = spendForm.querySelector(".field:not([hidden]) input");
    (first ?? document.getElementById("spend-submit")).focus();
  } catch (error) {
    cardPanel.hidden = true;
    card = null;
    showRefusal(lookupForm, error, { codeFields: { invalid_card_code: "card_code", card_not_found: "card_code" } });
  }
}

function spendBody() {
  if (card.type === "stored_value") {
    const fen = parseYuanToFen(spendForm.elements.amount.value);
    if (fen === null || fen === 0) {
      showFieldError(spendForm, "amount", "请填写消费金额，最多两位小数。");
      return null;
    }
    return { amount: fen };
  }
  if (card.type === "count") {
    const text = spendForm.elements.uses.value.trim();
    if (!/^[1-9]\d{0,8}$/.test(text)) {
      showFieldError(spendForm, "uses", "请填写消费次数（正整数）。");
      return null;
    }
    return { uses: Number(text) };
  }
  return {};
}

function describe(body) {
  if (body.amount !== undefined) return `消费${formatFen(body.amount)}`;
  if (body.uses !== undefined) return `消费${body.uses}次`;
  return "到店签到";
}

function showState(status, { announceIt }) {
  const words = REDEMPTION_STATUSES[status] ?? status;
  stateLine.textContent = words;
  stateLine.className = `spend-state state-${status}`;
  requestPanel.dataset.status = status;
  if (announceIt) announce(`消费请求${words}`);
}

async function watch(redemptionId) {
  const mine = {};
  watching = mine;
  while (watching === mine) {
    await new Promise((resolve) => window.setTimeout(resolve, POLL_MS));
    if (watching !== mine) return;
    try {
      const redemption = await api.get(`/redemptions/${encodeURIComponent(redemptionId)}`);
      if (redemption.status !== "pending") {
        showState(redemption.status, { announceIt: true });
        watching = null;
        if (redemption.status === "confirmed") refreshCard();
        return;
      }
    } catch (error) {
      // A lost poll is tried again on the next tick; a refusal (not found) stops the watch.
      if (error.status && error.status < 500) {
        stateLine.textContent = error.message;
        watching = null;
        return;
      }
    }
  }
}

async function refreshCard() {
  try {
    const found = await api.get(`/cards/${encodeURIComponent(card.card_id)}`);
    showCard(found);
  } catch {
    // The request's outcome is what matters here; the balance shows at the next lookup.
  }
}

async function requestSpend(event) {
  event.preventDefault();
  clearErrors(spendForm);
  if (!card) return;
  const body = spendBody();
  if (!body) {
    showFormError(spendForm, "请按栏目旁的说明修改。");
    focusFirstInvalid(spendForm);
    return;
  }
  const button = document.getElementById("spend-submit");
  button.disabled = true;
  try {
    const created = await api.post(`/cards/${encodeURIComponent(card.card_id)}/redemptions`, body, userAction());
    requestPanel.hidden = false;
    requestPanel.dataset.redemptionId = created.redemption_id;
    document.getElementById("request-summary").textContent = `${CARD_TYPES[card.type] ?? ""}：${describe(body)}`;
    document.getElementById("request-expires").textContent = `请顾客在 ${formatDateTime(created.expires_at)} 前在手机上确认。`;
    showState(created.status === "pending_confirmation" ? "pending" : created.status, { announceIt: true });
    watch(created.redemption_id);
  } catch (error) {
    showRefusal(spendForm, error, {
      codeFields: { insufficient_balance: card.type === "count" ? "uses" : "amount" },
    });
  } finally {
    button.disabled = false;
  }
}

if (merchantId) {
  lookupForm.addEventListener("submit", lookUp);
  // A pasted code is looked up at once: no Enter needed.
  lookupForm.elements.card_code.addEventListener("paste", () => window.setTimeout(lookUp, 0));
  spendForm.addEventListener("submit", requestSpend);
  lookupForm.elements.card_code.focus();
}
