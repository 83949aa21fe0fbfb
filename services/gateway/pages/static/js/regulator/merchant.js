// /regulator/merchants[/<id>]: find a merchant by name (GET /merchants?q=), and its drill-down:
// the card, code and reasons, figures, every indicator a day at a time with the thresholds
// (health/history), the code's changes with their reasons, complaints, the ledger entries about
// the merchant with their receipts (ledger-entries.js), its inspection tier, white list and
// inspections (merchant-inspection.js), and the actions (flag, reinstate, the
// two-regulator default with its live refund progress).
import { api, userAction } from "../api.js";
import { formatDate, formatDateTime, formatFen } from "../format.js";
import { healthBadge, reasonsList } from "../health.js";
import { announce } from "../shell.js";
import { drawIndicator } from "./charts.js";
import { showLedger } from "./ledger-entries.js";
import { showMerchantInspection, wireWhiteList } from "./merchant-inspection.js";
import {
  COMPLAINT_CATEGORIES,
  COMPLAINT_STATUSES,
  DEFAULT_STATUSES,
  FLAGS,
  MERCHANT_STATUSES,
  METRICS,
  departmentLabel,
  departmentOfIndustry,
  healthCodeLabel,
  industryLabel,
  reasonLabel,
} from "./labels.js";
import { clearErrors, element, merchantPath, requireRegulator, settled, showFieldError, showRefusal } from "./workbench.js";

const HISTORY_DAYS = 90;
const POLL_MS = 400;
const regulator = requireRegulator();
const merchantId = document.getElementById("drill").dataset.merchantId;
let merchant = null;

function fact(list, term, value) {
  const pair = element("div");
  pair.append(element("dt", "", term), element("dd", "", value));
  list.append(pair);
}

async function search() {
  const q = new URLSearchParams(location.search).get("q")?.trim();
  const form = document.getElementById("search");
  if (!q) return;
  form.elements.q.value = q;
  const results = document.getElementById("results");
  results.dataset.state = "loading";
  try {
    const page = await api.get("/merchants", { q, limit: 20 });
    results.replaceChildren(
      ...page.items.map((m) => {
        const item = element("li");
        const link = element("a", "", m.name);
        link.href = `/regulator/merchants/${encodeURIComponent(m.merchant_id)}`;
        item.append(link, " ", healthBadge(m.health_code), element("span", "muted", ` ${industryLabel(m.industry)} · ${m.address}`));
        return item;
      }),
    );
    if (!page.items.length) results.append(element("li", "muted", "没有找到名称含有该内容的商户。"));
  } catch (error) {
    showRefusal(form, error);
  } finally {
    settled(results);
  }
}

function showMerchant() {
  document.getElementById("merchant-title").textContent = merchant.name;
  document.getElementById("merchant-code").replaceChildren(healthBadge(merchant.health_code));
  const facts = document.getElementById("merchant-facts");
  facts.replaceChildren();
  fact(facts, "状态", MERCHANT_STATUSES[merchant.status] ?? merchant.status);
  if (merchant.status_reason) fact(facts, "状态说明", merchant.status_reason);
  fact(facts, "行业", industryLabel(merchant.industry));
  fact(facts, "主管部门", departmentLabel(departmentOfIndustry(merchant.industry)));
  fact(facts, "统一社会信用代码", merchant.uscc);
  fact(facts, "地址", merchant.address);
  fact(facts, "名单", merchant.flags.length ? merchant.flags.map((f) => FLAGS[f] ?? f).join("、") : "无");
  facts.dataset.status = merchant.status;
  settled(facts);
  document.getElementById("merchant-alerts").href = `/regulator/alerts?status=open&industry=${encodeURIComponent(merchant.industry)}`;
  const note = document.getElementById("reinstate-note");
  const form = document.getElementById("reinstate");
  form.hidden = true;
  if (merchant.status !== "delisted") note.textContent = "仅已下架的商户可以恢复上架。";
  else {
    // A delisted merchant is red for the delisting itself; whether anything else keeps it
    // red is the platform's decision (422 still_red), shown beside the form.
    note.textContent = "该商户已下架。只有当健康码除“已下架”外再无其他原因时才能恢复上架，否则平台会拒绝并说明原因。";
    form.hidden = false;
  }
}

async function showHealth() {
  const box = document.getElementById("merchant-health");
  box.replaceChildren();
  try {
    const health = await api.get(merchantPath(merchantId, "/health"));
    box.append(element("p", "hint", `${healthCodeLabel(health.code)}（${formatDate(health.since)}起，评估于${formatDateTime(health.evaluated_at)}）`));
    if (health.reasons.length) box.append(element("p", "", "原因："), reasonsList(health, "reasons"));
  } catch (error) {
    box.append(element("p", "muted", error.status === 404 ? "平台尚未对该商户作出评估。" : error.message));
  } finally {
    settled(box);
  }
}

const STATS = [
  ["cards_issued", "售出卡数", false],
  ["open_cards", "在用卡数", false],
  ["cards_refunded", "退卡数", false],
  ["issuance_amount", "售卡金额", true],
  ["outstanding_balance", "未消费预付款", true],
  ["escrow_held", "存管资金", true],
  ["refund_amount", "退款金额", true],
  ["paid_out", "已结算给商户", true],
];

async function showStats() {
  const list = document.getElementById("stats");
  try {
    const stats = await api.get(merchantPath(merchantId, "/stats"));
    for (const [field, words, money] of STATS) {
      const pair = element("div");
      pair.dataset.field = field;
      pair.append(element("dt", "", words), element("dd", "", money ? formatFen(stats[field]) : String(stats[field])));
      list.append(pair);
    }
  } catch (error) {
    list.append(element("p", "muted", error.message));
  } finally {
    settled(list);
  }
}

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

async function showHistory() {
  const box = document.getElementById("indicator-charts");
  const today = new Date();
  const query = { from: utcDay(new Date(today.getTime() - (HISTORY_DAYS - 1) * 86_400_000)), to: utcDay(today) };
  try {
    const history = await api.get(merchantPath(merchantId, "/health/history"), query);
    const days = history.days.map((d) => d.date);
    for (const [indicator, threshold] of Object.entries(history.thresholds)) {
      const panel = element("div", "panel chart-panel");
      const title = element("h3", "", METRICS[indicator] ?? indicator);
      title.id = `indicator-${indicator}-title`;
      const chart = element("div", "chart chart-small");
      chart.id = `indicator-${indicator}`;
      chart.dataset.indicator = indicator;
      chart.setAttribute("role", "img");
      panel.append(title, chart);
      box.append(panel);
      const values = history.days.map((d) => d[indicator] ?? null);
      drawIndicator(chart, METRICS[indicator] ?? indicator, days, values, threshold);
      const last = values.at(-1);
      const limits = [threshold.green !== null ? `绿码阈值${threshold.green}` : "", threshold.red !== null ? `红码阈值${threshold.red}` : ""].filter(Boolean).join("，");
      chart.setAttribute("aria-label", `${METRICS[indicator] ?? indicator}：最近一天${last ?? "无数据"}；${limits}`);
    }
    const changes = document.getElementById("changes");
    changes.replaceChildren(
      ...history.changes.map((change) => {
        const item = element("li");
        item.append(element("strong", "", `${formatDateTime(change.at)}：${healthCodeLabel(change.previous)} → ${healthCodeLabel(change.code)}`));
        const reasons = element("ul", "reasons");
        for (const text of new Set(change.reasons.map((r) => reasonLabel(r.indicator)))) reasons.append(element("li", "", text));
        item.append(reasons);
        return item;
      }),
    );
    document.getElementById("changes-empty").hidden = history.changes.length > 0;
  } catch (error) {
    box.append(element("p", "muted", error.status === 404 ? "平台尚未对该商户作出评估，暂无指标记录。" : error.message));
  } finally {
    settled(box);
  }
}

async function showComplaints() {
  const table = document.getElementById("complaints");
  try {
    const page = await api.get(merchantPath(merchantId, "/complaints"), { limit: 100 });
    table.tBodies[0].replaceChildren(
      ...page.items.map((c) => {
        const row = element("tr");
        row.append(
          element("td", "", formatDateTime(c.filed_at)),
          element("td", "", COMPLAINT_CATEGORIES[c.category] ?? c.category),
          element("td", "", `${COMPLAINT_STATUSES[c.status] ?? c.status}${c.unfounded ? "（经认定不成立）" : ""}`),
          element("td", "", c.responded ? "是" : "否"),
        );
        return row;
      }),
    );
    document.getElementById("complaints-empty").hidden = page.items.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    settled(table);
  }
}

// ---- The default: a proposal, a confirmation by another regulator, and the refund's progress.
const progressBar = document.getElementById("default-progress");
const stateLine = document.getElementById("default-state");
const resume = document.getElementById("default-resume");
const openButton = document.getElementById("default-open");
const dialog = document.getElementById("default-dialog");
const defaultForm = document.getElementById("default");

function showProgress(progress, proposedBy = null) {
  const box = document.getElementById("default-box");
  box.dataset.status = progress.status;
  stateLine.textContent =
    progress.status === "proposed" && proposedBy ? `已由 ${proposedBy} 提议，待另一名监管人员确认` : DEFAULT_STATUSES[progress.status] ?? progress.status;
  const running = progress.status === "refunding" || progress.status === "finished";
  progressBar.hidden = !running;
  if (running) {
    const total = progress.cards_total ?? 0;
    const done = progress.cards_refunded ?? 0;
    const percent = progress.status === "finished" ? 100 : total ? Math.floor((done * 100) / total) : 0;
    progressBar.setAttribute("aria-valuenow", String(percent));
    progressBar.setAttribute("aria-valuetext", `已退款${done}/${total}张卡`);
    progressBar.firstElementChild.style.width = `${percent}%`;
    document.getElementById("default-figures").textContent = `已退款 ${done}/${total} 张卡，共 ${formatFen(progress.amount_refunded ?? 0)}（${percent}%）`;
  }
  resume.hidden = progress.status !== "refunding";
  openButton.hidden = running;
  openButton.textContent = progress.status === "proposed" ? "确认认定违约…" : "认定违约…";
}

async function readProgress() {
  try {
    const progress = await api.get(merchantPath(merchantId, "/default/progress"));
    showProgress(progress);
    return progress;
  } catch {
    return null; // the progress is a courtesy: the POST's answer says how the refund ended
  }
}

// POST /default while polling its progress; `reason` differs for a deliberate resume, so the
// request is a new one (a new Idempotency-Key) rather than a replay of the last answer.
async function declare(reason) {
  let polling = true;
  const poll = async () => {
    while (polling) {
      await readProgress();
      await new Promise((resolve) => window.setTimeout(resolve, POLL_MS));
    }
  };
  const poller = poll();
  try {
    const answer = await api.post(merchantPath(merchantId, "/default"), { reason }, userAction());
    polling = false;
    await poller;
    if (answer.status === "default_proposed") {
      showProgress({ status: "proposed" }, answer.proposed_by);
      announce(`已提议认定违约，待另一名监管人员确认。`);
    } else {
      const progress = (await readProgress()) ?? { status: "finished", cards_total: answer.cards_refunded, cards_refunded: answer.cards_refunded, amount_refunded: answer.amount_refunded };
      showProgress({ ...progress, status: "finished" });
      announce(`已认定违约：退款${answer.cards_refunded}张卡，共${formatFen(answer.amount_refunded)}。`);
    }
    return null;
  } catch (error) {
    polling = false;
    await poller;
    return error;
  }
}

function wireDefault() {
  openButton.addEventListener("click", () => {
    clearErrors(defaultForm);
    defaultForm.reset();
    dialog.showModal();
  });
  document.getElementById("default-cancel").addEventListener("click", () => dialog.close());
  defaultForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(defaultForm);
    const reason = defaultForm.elements.reason.value.trim();
    const typed = defaultForm.elements.name.value.trim();
    if (!reason) showFieldError(defaultForm, "reason", "请填写认定理由。");
    if (typed !== merchant.name) showFieldError(defaultForm, "name", "输入的名称与商户名称不一致。");
    if (!reason || typed !== merchant.name) return;
    const button = document.getElementById("default-submit");
    button.disabled = true;
    dialog.close();
    const error = await declare(reason);
    button.disabled = false;
    if (error) {
      stateLine.textContent = error.message;
      announce(error.message);
    }
    await loadMerchant();
  });
  resume.addEventListener("click", async () => {
    resume.disabled = true;
    const error = await declare(`继续退款（${new Date().toISOString()}）`);
    resume.disabled = false;
    if (error) announce(error.message);
  });
}

function wireFlag() {
  const form = document.getElementById("flag");
  const select = form.elements.flag;
  for (const [value, words] of Object.entries(FLAGS)) {
    const option = element("option", "", words);
    option.value = value;
    select.append(option);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const source = form.elements.source.value.trim();
    if (!source) {
      showFieldError(form, "source", "请填写信息来源。");
      return;
    }
    try {
      const body = { flag: select.value, on: form.elements.on.value === "true", source };
      await api.post(merchantPath(merchantId, "/flags"), body, userAction());
      announce(`已${body.on ? "列入" : "移出"}${FLAGS[body.flag]}。`);
      form.reset();
      await loadMerchant();
    } catch (error) {
      showRefusal(form, error);
    }
  });
}

function wireReinstate() {
  const form = document.getElementById("reinstate");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const reason = form.elements.reason.value.trim();
    if (!reason) {
      showFieldError(form, "reason", "请填写恢复理由。");
      return;
    }
    try {
      await api.post(merchantPath(merchantId, "/reinstate"), { reason }, userAction());
      announce("商户已恢复上架。");
      await loadMerchant();
    } catch (error) {
      showRefusal(form, error);
    }
  });
}

async function loadMerchant() {
  try {
    merchant = await api.get(merchantPath(merchantId));
    showMerchant();
    showMerchantInspection(merchant);
    // The code line beside the badge is read again with the merchant: an action such as a
    // default or a reinstatement changes both.
    await showHealth();
  } catch (error) {
    document.getElementById("merchant-title").textContent = error.status === 404 ? "没有找到该商户。" : error.message;
  }
}

async function init() {
  document.getElementById("search").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = event.target.elements.q.value.trim();
    location.assign(q ? `/regulator/merchants?q=${encodeURIComponent(q)}` : "/regulator/merchants");
  });
  search();
  if (!merchantId) return;
  document.getElementById("merchant").hidden = false;
  wireDefault();
  wireFlag();
  wireReinstate();
  wireWhiteList(merchantId, loadMerchant);
  await loadMerchant();
  showStats();
  showHistory();
  showComplaints();
  showLedger(merchantId);
  readProgress();
}

if (regulator) init();
