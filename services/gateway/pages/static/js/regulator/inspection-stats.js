// /regulator/inspection/stats: a year's inspections (GET /stats/inspections?year=): visits and
// data checks by tier (stacked bars), the share done without a visit (无感监管, 德州's
// headline), quota use by tier (bars), overdue rectifications; the same numbers in a table.
// Without ?year= the API's default, the platform's current year.
import { api } from "../api.js";
import { announce } from "../shell.js";
import { COLOURS, drawBars } from "./charts.js";
import { clearErrors, element, formatBasisPoints, requireRegulator, settled, showFieldError, showRefusal } from "./workbench.js";

const TIERS = ["A", "B", "C", "D"];
const regulator = requireRegulator();
const form = document.getElementById("year");

function tierLabel(tier) {
  return `${tier}级`;
}

function share(checks, visits) {
  const both = checks + visits;
  return both ? Math.floor((checks * 10_000) / both) : null;
}

function headline(stats) {
  const list = document.getElementById("headline");
  const figures = [
    ["share_without_visit_bp", "未上门完成的检查占比", formatBasisPoints(stats.share_without_visit_bp ?? 0)],
    ["visits", "现场检查", String(stats.visits ?? 0)],
    ["data_checks", "数据核查（无感监管）", String(stats.data_checks ?? 0)],
    ["overdue_rectifications", "逾期未整改", String(stats.overdue_rectifications ?? 0)],
  ];
  list.replaceChildren(
    ...figures.map(([field, words, value]) => {
      const pair = element("div", field === "overdue_rectifications" && stats[field] ? "figure-red" : "");
      pair.dataset.field = field;
      pair.append(element("dt", "", words), element("dd", "", value));
      return pair;
    }),
  );
}

function tierTable(stats) {
  const table = document.getElementById("tiers");
  table.tBodies[0].replaceChildren(
    ...TIERS.map((tier) => {
      const t = stats.by_tier[tier] ?? { visits: 0, data_checks: 0, quota: 0, quota_used: 0 };
      const row = element("tr");
      row.dataset.tier = tier;
      const head = element("th", "", tierLabel(tier));
      head.scope = "row";
      row.append(
        head,
        element("td", "money", String(t.visits)),
        element("td", "money", String(t.data_checks)),
        element("td", "money", formatBasisPoints(share(t.data_checks, t.visits))),
        element("td", "money", String(t.quota)),
        element("td", "money", String(t.quota_used)),
      );
      return row;
    }),
  );
  settled(table);
}

function charts(stats) {
  const of = (field) => TIERS.map((tier) => stats.by_tier[tier]?.[field] ?? 0);
  const modes = document.getElementById("chart-modes");
  drawBars(
    modes,
    TIERS,
    [
      { name: "现场检查", data: of("visits"), colour: COLOURS.second, stack: "mode" },
      { name: "数据核查", data: of("data_checks"), colour: COLOURS.green, stack: "mode" },
    ],
    { label: tierLabel },
  );
  modes.setAttribute("aria-label", `${stats.year}年现场检查${stats.visits}次，数据核查${stats.data_checks}次，未上门占比${formatBasisPoints(stats.share_without_visit_bp ?? 0)}`);
  const quota = document.getElementById("chart-quota");
  drawBars(
    quota,
    TIERS,
    [
      { name: "已用频次", data: of("quota_used"), colour: COLOURS.brand },
      { name: "频次上限", data: of("quota"), colour: COLOURS.grey },
    ],
    { label: tierLabel },
  );
  quota.setAttribute("aria-label", TIERS.map((t) => `${tierLabel(t)}已用${stats.by_tier[t]?.quota_used ?? 0}/${stats.by_tier[t]?.quota ?? 0}`).join("，"));
}

async function load(year) {
  const list = document.getElementById("headline");
  list.dataset.state = "loading";
  try {
    const stats = await api.get("/stats/inspections", { year });
    form.elements.year.value = String(stats.year);
    headline(stats);
    charts(stats);
    tierTable(stats);
    announce(`已显示${stats.year}年的检查统计。`);
  } catch (error) {
    showRefusal(form, error, { codeFields: { invalid_year: "year" } });
  } finally {
    settled(list);
  }
}

function wire() {
  const requested = Number(new URLSearchParams(location.search).get("year"));
  // Without ?year= the platform's own year (its clock, which a demo may have moved).
  const year = Number.isInteger(requested) && requested >= 2000 && requested <= 2100 ? requested : null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const chosen = Number(form.elements.year.value);
    if (!Number.isInteger(chosen) || chosen < 2000 || chosen > 2100) {
      showFieldError(form, "year", "请填写2000至2100之间的年份。");
      return;
    }
    history.replaceState(null, "", `?year=${chosen}`);
    load(chosen);
  });
  load(year);
}

if (regulator) wire();
