// /regulator/: the city at a glance. The totals are the sums of GET /stats/city?by=industry
// items (integer fen, summed as BigInt), the industries as bar charts, the last 30 days as
// lines (by=day), and beside them the 风险预警名单 (GET /lists/watch), paged by next_cursor.
import { api } from "../api.js";
import { formatDate, formatFen } from "../format.js";
import { healthBadge } from "../health.js";
import { announce } from "../shell.js";
import { COLOURS, drawBars, drawLines } from "./charts.js";
import { CITY_FIGURES, departmentLabel, industryLabel, reasonLabel } from "./labels.js";
import { drillDownUrl, element, formatBasisPoints, requireRegulator, settled } from "./workbench.js";

const DAYS = 30;
const regulator = requireRegulator();

// The city's totals from the industries: every figure summed, the coverage recomputed.
export function sumRows(items) {
  const total = { merchants: 0n, cards_issued: 0n, outstanding_liability: 0n, escrow_held: 0n, refunds: 0n, complaints: 0n };
  const codes = { green: 0n, yellow: 0n, red: 0n };
  for (const item of items) {
    for (const field of Object.keys(total)) total[field] += BigInt(item[field]);
    for (const code of Object.keys(codes)) codes[code] += BigInt(item.by_code[code]);
  }
  const coverage = total.outstanding_liability > 0n ? Number((total.escrow_held * 10_000n) / total.outstanding_liability) : null;
  const plain = Object.fromEntries(Object.entries(total).map(([k, v]) => [k, Number(v)]));
  return { ...plain, by_code: Object.fromEntries(Object.entries(codes).map(([k, v]) => [k, Number(v)])), escrow_coverage_bp: coverage };
}

function figureText(kind, value) {
  if (kind === "money") return formatFen(value);
  if (kind === "bp") return formatBasisPoints(value);
  return String(value);
}

function showTotals(total) {
  const list = document.getElementById("totals");
  const pairs = CITY_FIGURES.map(([field, words, kind]) => {
    const pair = element("div");
    pair.dataset.field = field;
    pair.append(element("dt", "", words), element("dd", "", figureText(kind, total[field])));
    return pair;
  });
  for (const [code, words] of [["red", "红码商户"], ["yellow", "黄码商户"], ["green", "绿码商户"]]) {
    const pair = element("div", `figure-${code}`);
    pair.dataset.field = `by_code.${code}`;
    pair.append(element("dt", "", words), element("dd", "", String(total.by_code[code])));
    pairs.push(pair);
  }
  list.replaceChildren(...pairs);
}

function industryTable(items) {
  const table = document.getElementById("industry-table");
  table.tBodies[0].replaceChildren(
    ...items.map((item) => {
      const row = element("tr");
      row.dataset.industry = item.key;
      const head = element("th", "", industryLabel(item.key));
      head.scope = "row";
      row.append(
        head,
        element("td", "money", String(item.merchants)),
        element("td", "money", `${item.by_code.red}/${item.by_code.yellow}/${item.by_code.green}`),
        element("td", "money", String(item.cards_issued)),
        element("td", "money", formatFen(item.outstanding_liability)),
        element("td", "money", formatFen(item.escrow_held)),
        element("td", "money", formatBasisPoints(item.escrow_coverage_bp)),
        element("td", "money", formatFen(item.refunds)),
        element("td", "money", String(item.complaints)),
      );
      return row;
    }),
  );
  settled(table);
}

async function showIndustries() {
  const list = document.getElementById("totals");
  try {
    const city = await api.get("/stats/city", { by: "industry" });
    const total = sumRows(city.items);
    showTotals(total);
    industryTable(city.items);
    const keys = city.items.map((i) => i.key);
    const codes = document.getElementById("chart-codes");
    drawBars(
      codes,
      keys,
      [
        { name: "红码", data: city.items.map((i) => i.by_code.red), colour: COLOURS.red, stack: "code" },
        { name: "黄码", data: city.items.map((i) => i.by_code.yellow), colour: COLOURS.yellow, stack: "code" },
        { name: "绿码", data: city.items.map((i) => i.by_code.green), colour: COLOURS.green, stack: "code" },
      ],
      { label: industryLabel },
    );
    codes.setAttribute("aria-label", `全市${total.merchants}家商户：红码${total.by_code.red}家，黄码${total.by_code.yellow}家，绿码${total.by_code.green}家`);
    const money = document.getElementById("chart-money");
    drawBars(
      money,
      keys,
      [
        { name: "未消费预付款", data: city.items.map((i) => i.outstanding_liability), colour: COLOURS.brand },
        { name: "存管资金", data: city.items.map((i) => i.escrow_held), colour: COLOURS.second },
      ],
      { money: true, label: industryLabel },
    );
    money.setAttribute("aria-label", `全市未消费预付款${formatFen(total.outstanding_liability)}，存管资金${formatFen(total.escrow_held)}，覆盖率${formatBasisPoints(total.escrow_coverage_bp)}`);
  } catch (error) {
    list.replaceChildren(element("p", "muted", error.message));
  } finally {
    settled(list);
  }
}

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

async function showDays() {
  const node = document.getElementById("chart-days");
  const today = new Date();
  const query = { by: "day", from: utcDay(new Date(today.getTime() - (DAYS - 1) * 86_400_000)), to: utcDay(today) };
  try {
    const city = await api.get("/stats/city", query);
    drawLines(
      node,
      city.items.map((i) => i.key),
      [
        { name: "未消费预付款", data: city.items.map((i) => i.outstanding_liability), colour: COLOURS.brand, money: true },
        { name: "存管资金", data: city.items.map((i) => i.escrow_held), colour: COLOURS.second, money: true },
        { name: "退款金额", data: city.items.map((i) => i.refunds), colour: COLOURS.red, money: true },
        { name: "售出卡数", data: city.items.map((i) => i.cards_issued), colour: COLOURS.grey },
        { name: "投诉数", data: city.items.map((i) => i.complaints), colour: COLOURS.yellow },
      ],
    );
    node.setAttribute("aria-label", `近${DAYS}天每日未消费预付款、存管资金、退款、售卡和投诉走势`);
  } catch (error) {
    node.replaceChildren(element("p", "muted", error.message));
  } finally {
    settled(node);
  }
}

const watch = document.getElementById("watch");
const watchMore = document.getElementById("watch-more");
let watchCursor = null;

function watchItem(entry) {
  const item = element("li", `watch-item watch-${entry.code}`);
  item.dataset.merchantId = entry.merchant_id;
  const title = element("p", "watch-name");
  const link = element("a", "", entry.name || entry.merchant_id);
  link.href = drillDownUrl(entry.merchant_id);
  title.append(link);
  item.append(title, healthBadge(entry.code));
  item.append(element("p", "muted", `${industryLabel(entry.industry)} · ${departmentLabel(entry.department)} · ${formatDate(entry.since)}起`));
  const reasons = element("ul", "reasons");
  for (const text of new Set(entry.reasons.map((r) => reasonLabel(r.indicator)))) reasons.append(element("li", "", text));
  item.append(reasons);
  return item;
}

async function showWatch() {
  watchMore.disabled = true;
  watch.dataset.state = "loading";
  try {
    const page = await api.get("/lists/watch", { cursor: watchCursor ?? undefined, limit: 20 });
    watch.append(...page.items.map(watchItem));
    watchCursor = page.next_cursor;
    watchMore.hidden = !watchCursor;
    document.getElementById("watch-empty").hidden = watch.children.length > 0;
  } catch (error) {
    watch.append(element("li", "muted", error.message));
    announce(error.message);
  } finally {
    watchMore.disabled = false;
    settled(watch);
  }
}

if (regulator) {
  watchMore.addEventListener("click", showWatch);
  showIndustries();
  showDays();
  showWatch();
}
