// /app/complaints: file a complaint about one of my cards or a merchant (?card_id= and
// ?merchant_id= preselect it), list mine with the merchant's response, and resolve or
// escalate one as its `next_actions` allow.
import { api, userAction } from "../api.js";
import { COMPLAINT_CATEGORIES, COMPLAINT_STATUSES, label } from "./labels.js";
import { cardLabel, markReady, merchantName, requireConsumer } from "./consumer.js";
import { button, element } from "./dom.js";
import { formatDateTime } from "../format.js";
import { announce } from "../shell.js";

const ACTIONS = Object.freeze({
  resolve: { text: "问题已解决", done: "已确认问题解决。" },
  escalate: { text: "提交监管部门处理", done: "已提交监管部门处理。" },
});
const form = document.getElementById("complaint-form");
const targets = []; // the <select id=about> options' {merchant_id, card_id?}

function addTarget(select, text, target) {
  const option = element("option", "", text);
  option.value = String(targets.length);
  targets.push(target);
  select.append(option);
  return option;
}

async function fillTargets() {
  const select = form.elements.about;
  const params = new URLSearchParams(location.search);
  const page = await api.get("/consumers/me/cards", { limit: 100 });
  const merchants = [...new Set(page.items.map((c) => c.merchant_id))];
  const wanted = params.get("merchant_id");
  if (wanted && !merchants.includes(wanted)) merchants.unshift(wanted);
  const names = new Map(await Promise.all(merchants.map(async (m) => [m, await merchantName(m)])));
  for (const merchantId of merchants) {
    const option = addTarget(select, `商户：${names.get(merchantId)}`, { merchant_id: merchantId });
    if (merchantId === wanted) option.selected = true;
  }
  for (const card of page.items) {
    const option = addTarget(select, `卡：${cardLabel(card, names.get(card.merchant_id))}`, {
      merchant_id: card.merchant_id,
      card_id: card.card_id,
    });
    if (card.card_id === params.get("card_id")) option.selected = true;
  }
  document.getElementById("no-merchants").hidden = merchants.length > 0;
  form.querySelector("button[type=submit]").disabled = merchants.length === 0;
}

function fillCategories() {
  for (const [value, text] of Object.entries(COMPLAINT_CATEGORIES)) {
    form.elements.category.append(Object.assign(element("option", "", text), { value }));
  }
}

async function act(complaint, action, node) {
  node.querySelectorAll("button").forEach((b) => (b.disabled = true));
  try {
    await api.post(`/complaints/${encodeURIComponent(complaint.complaint_id)}/${action}`, undefined, userAction());
    announce(ACTIONS[action].done);
    await loadComplaints();
  } catch (error) {
    announce(error.message);
    node.querySelectorAll("button").forEach((b) => (b.disabled = false));
  }
}

async function complaintItem(complaint) {
  const item = element("li", "complaint-item");
  item.dataset.complaintId = complaint.complaint_id;
  item.dataset.status = complaint.status;
  const name = await merchantName(complaint.merchant_id);
  item.append(
    element("h3", "complaint-title", `${name} · ${label(COMPLAINT_CATEGORIES, complaint.category)}`),
    element("p", "complaint-status", `${label(COMPLAINT_STATUSES, complaint.status)} · ${formatDateTime(complaint.filed_at)}提交`),
    element("p", "complaint-text", complaint.text ?? "（内容已按您的要求删除）"),
    element(
      "p",
      "complaint-response",
      complaint.responded ? `商户回复：${complaint.response ?? "（内容已删除）"}` : "商户尚未回复。",
    ),
  );
  const actions = element("div", "complaint-actions");
  for (const action of complaint.next_actions) {
    if (!ACTIONS[action]) continue;
    const press = button(ACTIONS[action].text);
    press.dataset.action = action;
    press.addEventListener("click", () => act(complaint, action, item));
    actions.append(press);
  }
  if (actions.children.length) item.append(actions);
  return item;
}

async function loadComplaints() {
  const list = document.getElementById("complaints");
  list.dataset.state = "loading";
  try {
    const page = await api.get("/consumers/me/complaints", { limit: 100 });
    list.replaceChildren(...(await Promise.all(page.items.map(complaintItem))));
    document.getElementById("complaints-empty").hidden = page.items.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    markReady(list);
  }
}

function onSubmit() {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    const target = targets[Number(form.elements.about.value)];
    const body = { ...target, category: form.elements.category.value, text: form.elements.text.value.trim() };
    if (!target || !body.text) return announce("请选择投诉对象并填写情况说明。");
    submit.disabled = true;
    try {
      await api.post("/complaints", body, userAction());
      form.elements.text.value = "";
      announce("投诉已提交，商户须在规定时间内回复。");
      await loadComplaints();
    } catch (error) {
      announce(error.message);
    } finally {
      submit.disabled = false;
    }
  });
}

async function init() {
  fillCategories();
  onSubmit();
  try {
    await fillTargets();
  } catch (error) {
    announce(error.message);
  }
  form.dataset.ready = "true";
  await loadComplaints();
}

if (requireConsumer()) init();
