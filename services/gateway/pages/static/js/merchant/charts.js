// The overview's daily figures as Apache ECharts charts (window.echarts, the vendored classic
// script). Series hold the API's integer fen as they are: axis labels and tooltips format them
// as 元 with format.js, so no amount is ever divided into a float. Tests read the numbers back
// with echarts.getInstanceByDom(node).getOption().
import { formatDay, formatFen } from "../format.js";

const BRAND = "#04703f";
const SECOND = "#0b57d0";

// [element id, [[field, series name, colour], ...], kind]
export const CHARTS = Object.freeze([
  ["chart-issuance", [["issuance_amount", "售卡金额", BRAND]], "bar"],
  ["chart-redemptions", [["redemption_amount", "确认消费", BRAND]], "bar"],
  ["chart-refunds", [["refund_amount", "退款金额", "#b42318"]], "bar"],
  [
    "chart-outstanding",
    [
      ["outstanding_balance", "未消费余额", BRAND],
      ["escrow_held", "存管资金", SECOND],
    ],
    "line",
  ],
]);

function fenLabel(value) {
  // Ticks are whole fen (minInterval), but an axis may still hand a computed value over.
  return formatFen(Number.isSafeInteger(value) ? value : Math.round(value));
}

// The tooltip as DOM nodes, not ECharts' default HTML string: that string carries style=""
// attributes, which the pages' CSP (style-src 'self', no 'unsafe-inline') refuses when
// ECharts parses it. Nodes built here are styled by merchant.css classes and the CSSOM
// (element.style), which the CSP allows, so the policy stays as strict as it is.
function tooltipContent(points) {
  const box = document.createElement("div");
  box.className = "chart-tip";
  const day = document.createElement("p");
  day.className = "chart-tip-day";
  day.textContent = points.length ? formatDay(points[0].name) : "";
  box.append(day);
  for (const point of points) {
    const row = document.createElement("p");
    const swatch = document.createElement("span");
    swatch.className = "chart-tip-swatch";
    swatch.style.backgroundColor = point.color;
    row.append(swatch, `${point.seriesName}：${fenLabel(point.value)}`);
    box.append(row);
  }
  return box;
}

function optionFor(days, series, kind) {
  return {
    animation: false,
    textStyle: { fontFamily: "WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, sans-serif" },
    grid: { left: 88, right: 16, top: series.length > 1 ? 36 : 16, bottom: 32 },
    legend: series.length > 1 ? { top: 0 } : undefined,
    tooltip: { trigger: "axis", formatter: tooltipContent },
    xAxis: {
      type: "category",
      data: days.map((d) => d.day),
      axisLabel: { formatter: formatDay, color: "#404040" },
    },
    yAxis: { type: "value", minInterval: 100, axisLabel: { formatter: fenLabel, color: "#404040" } },
    series: series.map(([field, name, color]) => ({
      name,
      type: kind,
      data: days.map((d) => d[field]),
      itemStyle: { color },
      lineStyle: kind === "line" ? { color } : undefined,
      showSymbol: true,
    })),
  };
}

function total(days, field) {
  return days.reduce((sum, d) => sum + BigInt(d[field]), 0n);
}

// Draws (or redraws) every chart for `days` (the API's items) and gives each its summary
// as words, for a screen reader.
export function drawCharts(days) {
  for (const [id, series, kind] of CHARTS) {
    const node = document.getElementById(id);
    const chart = window.echarts.getInstanceByDom(node) ?? window.echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(optionFor(days, series, kind), { notMerge: true });
    const [field, name] = series[0];
    const span = days.length ? `${formatDay(days[0].day)}至${formatDay(days.at(-1).day)}` : "";
    const summary =
      kind === "bar"
        ? `${span}${name}合计${formatFen(total(days, field))}`
        : `${span}${name}期末${formatFen(days.at(-1)?.[field] ?? 0)}`;
    node.setAttribute("aria-label", summary);
    node.removeAttribute("aria-labelledby");
  }
}

window.addEventListener("resize", () => {
  for (const [id] of CHARTS) window.echarts?.getInstanceByDom(document.getElementById(id))?.resize();
});
