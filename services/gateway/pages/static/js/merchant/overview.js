// /merchant/: the merchant's own 预付健康码 with its reasons, its signed credit report (the
// signature checked here with WebCrypto against GET /keys), its totals, its daily figures as
// charts for a chosen range (the last 30 days at first), and its payouts.
import { api } from "../api.js";
import { formatDate, formatDateTime, formatDay, formatFen } from "../format.js";
import { reasonsList } from "../health.js";
import { HEALTH_CODES, METRICS, healthCodeLabel } from "../labels.js";
import { announce } from "../shell.js";
import { drawCharts } from "./charts.js";
import { clearErrors, element, merchantPath, requireMerchant, settled } from "./console.js";
import { verifyCreditReport } from "./credit.js";
import { FIGURES } from "./labels.js";
import { showRefusal } from "./refusals.js";

const DEFAULT_DAYS = 30;
const merchantId = requireMerchant();
const rangeForm = document.getElementById("range");

function badge(code) {
  const node = element("span", `health-badge health-${HEALTH_CODES[code] ? code : "none"}`);
  node.textContent = `预付健康码：${healthCodeLabel(code)}`;
  return node;
}

async function showHealth() {
  const box = document.getElementById("health");
  try {
    const health = await api.get(merchantPath(merchantId, "/health"));
    box.dataset.code = health.code;
    box.append(badge(health.code), element("p", "hint", `${HEALTH_CODES[health.code]?.hint ?? ""}（${formatDate(health.since)}起）`));
    if (health.reasons.length) {
      box.append(element("p", "", "原因："), reasonsList(health, "reasons"));
    } else {
      box.append(element("p", "", "各项指标正常。"));
    }
  } catch (error) {
    box.append(element("p", "muted", error.status === 404 ? "平台尚未对您的经营情况作出评估。" : error.message));
  } finally {
    settled(box);
  }
}

function metricValue(name, value) {
  return value === null || value === undefined ? "—" : String(value);
}

async function showCredit() {
  const box = document.getElementById("credit");
  try {
    const signed = await api.get(merchantPath(merchantId, "/credit-report"));
    const report = signed.report;
    const facts = element("dl", "figures");
    const fact = (term, value) => {
      const pair = element("div");
      pair.append(element("dt", "", term), element("dd", "", value));
      facts.append(pair);
    };
    fact("推荐结论", `${healthCodeLabel(report.code)}商户，可获信用推荐`);
    fact("绿码起始", formatDate(report.green_since));
    fact("报告有效期至", formatDate(report.valid_until));
    fact("健康码变更次数", `${report.history.length}次`);
    box.append(facts);
    const factors = element("table");
    factors.append(element("caption", "", "评估依据"));
    const body = element("tbody");
    for (const [name, value] of Object.entries(report.indicators ?? {})) {
      if (!Object.hasOwn(METRICS, name)) continue; // the public metrics, in words
      const row = element("tr");
      row.append(element("th", "", METRICS[name]), element("td", "money", metricValue(name, value)));
      row.firstChild.scope = "row";
      body.append(row);
    }
    factors.append(body);
    box.append(factors);
    const status = element("p", "", "正在核验平台签名…");
    status.id = "credit-signature";
    box.append(status, element("p", "hint", `签发时间：${formatDateTime(report.issued_at)}`));
    const valid = await verifyCreditReport(signed);
    status.textContent = valid ? "平台签名有效：报告内容未被改动，银行可离线核验。" : "平台签名无效：报告内容可能被改动，请勿使用。";
    status.className = valid ? "signature-ok" : "signature-bad";
    status.dataset.valid = String(valid);
  } catch (error) {
    const words = error.status === 404 ? "平台尚未对您的经营情况作出评估，暂无报告。" : error.message;
    box.append(element("p", "muted", words));
  } finally {
    settled(box);
  }
}

async function showTotals() {
  const list = document.getElementById("totals");
  try {
    const stats = await api.get(merchantPath(merchantId, "/stats"));
    for (const [field, words, money] of [...FIGURES, ["paid_out", "已结算到账", true]]) {
      const pair = element("div");
      pair.dataset.field = field;
      pair.append(element("dt", "", words), element("dd", "", money ? formatFen(stats[field]) : String(stats[field])));
      list.append(pair);
    }
  } catch (error) {
    announce(error.message);
  } finally {
    settled(list);
  }
}

function dailyTable(days) {
  const table = document.getElementById("daily-table");
  const head = element("tr");
  head.append(element("th", "", "日期"), ...FIGURES.map(([, words]) => element("th", "", words)));
  for (const cell of head.children) cell.scope = "col";
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(
    ...days.map((day) => {
      const row = element("tr");
      row.append(element("td", "", formatDay(day.day)));
      for (const [field, , money] of FIGURES) {
        row.append(element("td", money ? "money" : "", money ? formatFen(day[field]) : String(day[field])));
      }
      return row;
    }),
  );
}

async function showDaily(event) {
  event?.preventDefault();
  clearErrors(rangeForm);
  const charts = document.getElementById("charts");
  charts.dataset.state = "loading";
  const query = { from: rangeForm.elements.from.value, to: rangeForm.elements.to.value };
  try {
    const daily = await api.get(merchantPath(merchantId, "/stats/daily"), query);
    drawCharts(daily.items);
    dailyTable(daily.items);
    charts.dataset.from = query.from;
    charts.dataset.to = query.to;
    if (event) announce(`已显示${formatDay(query.from)}至${formatDay(query.to)}的数据`);
  } catch (error) {
    showRefusal(rangeForm, error, {
      codeFields: { invalid_date_range: "to", date_range_too_long: "from", invalid_date: "from" },
    });
  } finally {
    settled(charts);
  }
}

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

async function showSettlements() {
  const table = document.getElementById("settlements");
  try {
    const page = await api.get(merchantPath(merchantId, "/settlements"), { limit: 100 });
    table.tBodies[0].replaceChildren(
      ...page.items.map((payout) => {
        const row = element("tr");
        row.dataset.payoutId = payout.payout_id;
        row.append(
          element("td", "", formatDateTime(payout.paid_at)),
          element("td", "money", formatFen(payout.amount)),
          element("td", "", payout.days.map(formatDay).join("、")),
          element("td", "muted", payout.payout_id),
        );
        return row;
      }),
    );
    document.getElementById("settlements-empty").hidden = page.items.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    settled(table);
  }
}

if (merchantId) {
  // Platform days are UTC days: the default range ends on today's UTC day.
  const today = new Date();
  rangeForm.elements.to.value = utcDay(today);
  rangeForm.elements.from.value = utcDay(new Date(today.getTime() - (DEFAULT_DAYS - 1) * 86_400_000));
  rangeForm.addEventListener("submit", showDaily);
  showHealth();
  showCredit();
  showTotals();
  showDaily();
  showSettlements();
}
