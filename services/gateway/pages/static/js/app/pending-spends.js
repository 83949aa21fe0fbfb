// The spends waiting for me (GET /consumers/me/redemptions?status=pending), polled about
// every second while the page is visible and not at all while it is hidden: a request made
// at the counter shows up here without a reload. One tap confirms or rejects; a confirmed
// spend then offers a 1-5 star rating with a short text.
import { api, userAction } from "../api.js";
import { CARD_TYPES, label } from "./labels.js";
import { button, element, sleep } from "./dom.js";
import { formatDateTime, formatFen } from "../format.js";
import { announce } from "../shell.js";

const POLL_MS = 1000;
const RATING_TRIES = 6;
const list = () => document.getElementById("spends");
const rated = () => document.getElementById("to-rate");
const busy = new Set(); // redemption ids with a tap in flight: polling leaves them alone

function what(spend) {
  if (spend.amount !== undefined && spend.amount !== null) return `扣款 ${formatFen(spend.amount)}`;
  if (spend.uses !== undefined && spend.uses !== null) return `核销 ${spend.uses} 次`;
  return "签到一次";
}

function spendItem(spend) {
  const item = element("li", "spend-item");
  item.dataset.redemptionId = spend.redemption_id;
  item.append(
    element("h3", "spend-merchant", spend.merchant_name),
    element("p", "spend-what", `${label(CARD_TYPES, spend.card_type)} · ${what(spend)}`),
    element("p", "spend-time", `请求时间：${formatDateTime(spend.requested_at)}，${formatDateTime(spend.expires_at)}前有效`),
  );
  const actions = element("div", "spend-actions");
  const confirm = button("确认", "weui-btn weui-btn_mini weui-btn_primary");
  const reject = button("拒绝", "weui-btn weui-btn_mini weui-btn_warn");
  confirm.dataset.action = "confirm";
  reject.dataset.action = "reject";
  confirm.setAttribute("aria-label", `确认 ${spend.merchant_name} ${what(spend)}`);
  reject.setAttribute("aria-label", `拒绝 ${spend.merchant_name} ${what(spend)}`);
  confirm.addEventListener("click", () => respond(spend, "confirm", item));
  reject.addEventListener("click", () => respond(spend, "reject", item));
  actions.append(confirm, reject);
  item.append(actions);
  return item;
}

async function respond(spend, how, item) {
  busy.add(spend.redemption_id);
  item.querySelectorAll("button").forEach((b) => (b.disabled = true));
  try {
    await api.post(`/redemptions/${encodeURIComponent(spend.redemption_id)}/${how}`, undefined, userAction());
    item.remove();
    if (how === "confirm") {
      announce(`已确认：${spend.merchant_name} ${what(spend)}`);
      rated().append(ratingItem(spend));
    } else {
      announce(`已拒绝：${spend.merchant_name} ${what(spend)}，不会扣款。`);
    }
  } catch (error) {
    announce(error.message);
    item.querySelectorAll("button").forEach((b) => (b.disabled = false));
  } finally {
    busy.delete(spend.redemption_id);
    showEmpty();
  }
}

function ratingItem(spend) {
  const item = element("li", "spend-item rating-item");
  item.dataset.redemptionId = spend.redemption_id;
  item.append(element("h3", "spend-merchant", `${spend.merchant_name}：已确认 ${what(spend)}`));
  const form = element("form", "rating-form");
  const stars = element("fieldset", "stars");
  stars.append(element("legend", "form-legend", "为这次消费评分（1至5星）"));
  for (let n = 1; n <= 5; n += 1) {
    const id = `stars-${spend.redemption_id}-${n}`;
    const input = element("input");
    Object.assign(input, { type: "radio", name: "stars", value: String(n), id, required: true });
    const text = element("label", "star-label", `${n}星`);
    text.htmlFor = id;
    stars.append(input, text);
  }
  const textId = `rating-text-${spend.redemption_id}`;
  const textLabel = element("label", "form-legend", "简短评价（选填）");
  textLabel.htmlFor = textId;
  const text = element("textarea", "weui-textarea rating-text");
  Object.assign(text, { id: textId, name: "text", rows: 2, maxLength: 200 });
  const submit = element("button", "weui-btn weui-btn_mini weui-btn_primary", "提交评价");
  submit.type = "submit";
  const skip = button("不评价");
  skip.addEventListener("click", () => item.remove());
  form.append(stars, textLabel, text, submit, skip);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    rate(spend, form, item);
  });
  item.append(form);
  return item;
}

async function rate(spend, form, item) {
  const data = new FormData(form);
  const body = { stars: Number(data.get("stars")), text: String(data.get("text") || "").trim() };
  form.querySelectorAll("button").forEach((b) => (b.disabled = true));
  for (let attempt = 1; ; attempt += 1) {
    try {
      // A new key each try: the refused try did nothing, and its 409 is what its key replays.
      await api.post(`/redemptions/${encodeURIComponent(spend.redemption_id)}/rating`, body, userAction());
      item.replaceChildren(element("p", "rated", `感谢评价：${spend.merchant_name} ${body.stars}星`));
      item.dataset.state = "rated";
      announce("评价已提交。");
      return;
    } catch (error) {
      // The platform learns the confirmation a moment after it happens: ask again shortly.
      if (error.code === "spend_not_confirmed" && attempt < RATING_TRIES) {
        await sleep(500 * attempt);
        continue;
      }
      announce(error.message);
      form.querySelectorAll("button").forEach((b) => (b.disabled = false));
      return;
    }
  }
}

function showEmpty() {
  document.getElementById("spends-empty").hidden = list().children.length > 0;
}

// Adds the new requests and drops the closed ones, keeping the rows already shown (and the
// focus in them) as they are.
function render(items) {
  const shown = new Map([...list().children].map((li) => [li.dataset.redemptionId, li]));
  const pending = new Set(items.map((s) => s.redemption_id));
  for (const [id, li] of shown) if (!pending.has(id) && !busy.has(id)) li.remove();
  for (const spend of items) {
    if (!shown.has(spend.redemption_id) && !busy.has(spend.redemption_id)) list().append(spendItem(spend));
  }
  showEmpty();
  list().dataset.state = "loaded";
}

async function poll() {
  const page = await api.get("/consumers/me/redemptions", { status: "pending", limit: 50 });
  render(page.items);
}

// Polls while the page is visible; `onError` hears a failed poll (the next one still runs).
export function watchSpends() {
  let timer = null;
  let running = false;
  let reported = false;
  const tick = async () => {
    timer = null;
    if (document.visibilityState !== "visible" || running) return;
    running = true;
    try {
      await poll();
      reported = false;
    } catch (error) {
      if (!reported) announce(error.message); // said once, not every second
      reported = true;
    } finally {
      running = false;
      if (document.visibilityState === "visible") timer = window.setTimeout(tick, POLL_MS);
    }
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && timer === null && !running) tick();
    else if (document.visibilityState !== "visible" && timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
  });
  tick();
}
