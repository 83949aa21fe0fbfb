// The workbench's charts (Apache ECharts, window.echarts, the vendored classic script): the
// city by industry (bars) and by day (lines), and a merchant's indicators a day at a time
// with the policy's thresholds drawn as dashed lines (markLine). Money stays integer fen;
// labels format it as 元 with format.js. Tooltips are DOM nodes (the CSP refuses the inline
// styles of ECharts' default HTML tooltip). Tests read the data back with getOption().
import { formatDay, formatFen } from "../format.js";

const FONT = "WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei, sans-serif";
export const COLOURS = Object.freeze({
  brand: "#04703f",
  second: "#0b57d0",
  green: "#1a7f37",
  yellow: "#d4a200",
  red: "#b42318",
  grey: "#595959",
});

function fenLabel(value) {
  return formatFen(Number.isSafeInteger(value) ? value : Math.round(value));
}

function tip(title, rows) {
  const box = document.createElement("div");
  box.className = "chart-tip";
  const head = document.createElement("p");
  head.className = "chart-tip-day";
  head.textContent = title;
  box.append(head);
  for (const [colour, text] of rows) {
    const row = document.createElement("p");
    const swatch = document.createElement("span");
    swatch.className = "chart-tip-swatch";
    swatch.style.backgroundColor = colour;
    row.append(swatch, text);
    box.append(row);
  }
  return box;
}

function chartOn(node) {
  return window.echarts.getInstanceByDom(node) ?? window.echarts.init(node, null, { renderer: "canvas" });
}

// series: [{name, data, colour, stack?}], money: whether values are fen.
export function drawBars(node, categories, series, { money = false, label = (c) => c } = {}) {
  const format = money ? fenLabel : String;
  chartOn(node).setOption(
    {
      animation: false,
      textStyle: { fontFamily: FONT },
      grid: { left: money ? 96 : 48, right: 16, top: 36, bottom: 32 },
      legend: { top: 0, type: "scroll" },
      tooltip: {
        trigger: "axis",
        formatter: (points) => tip(label(points[0]?.name ?? ""), points.map((p) => [p.color, `${p.seriesName}：${format(p.value)}`])),
      },
      xAxis: { type: "category", data: categories, axisLabel: { formatter: label, color: "#404040" } },
      yAxis: { type: "value", minInterval: money ? 100 : 1, axisLabel: { formatter: format, color: "#404040" } },
      series: series.map((s) => ({
        name: s.name,
        type: "bar",
        stack: s.stack,
        data: s.data,
        itemStyle: { color: s.colour },
      })),
    },
    { notMerge: true },
  );
}

export function drawLines(node, days, series) {
  chartOn(node).setOption(
    {
      animation: false,
      textStyle: { fontFamily: FONT },
      grid: { left: 96, right: 56, top: 36, bottom: 32 },
      legend: { top: 0, type: "scroll" },
      tooltip: {
        trigger: "axis",
        formatter: (points) =>
          tip(points.length ? formatDay(points[0].name) : "", points.map((p) => [p.color, `${p.seriesName}：${series[p.seriesIndex].money ? fenLabel(p.value) : p.value}`])),
      },
      xAxis: { type: "category", data: days, axisLabel: { formatter: formatDay, color: "#404040" } },
      yAxis: [
        { type: "value", minInterval: 100, axisLabel: { formatter: fenLabel, color: "#404040" } },
        { type: "value", minInterval: 1, axisLabel: { color: "#404040" } },
      ],
      series: series.map((s) => ({
        name: s.name,
        type: "line",
        yAxisIndex: s.money ? 0 : 1,
        data: s.data,
        itemStyle: { color: s.colour },
        lineStyle: { color: s.colour },
      })),
    },
    { notMerge: true },
  );
}

// One indicator's daily values with its thresholds: {green, red, higher_is_better}.
export function drawIndicator(node, name, days, values, threshold) {
  const lines = [];
  if (threshold?.green !== null && threshold?.green !== undefined) {
    lines.push({ name: "绿码阈值", yAxis: threshold.green, lineStyle: { color: COLOURS.green, type: "dashed" }, label: { formatter: `绿码 ${threshold.green}`, color: "#1f1f1f" } });
  }
  if (threshold?.red !== null && threshold?.red !== undefined) {
    lines.push({ name: "红码阈值", yAxis: threshold.red, lineStyle: { color: COLOURS.red, type: "dashed" }, label: { formatter: `红码 ${threshold.red}`, color: "#1f1f1f" } });
  }
  chartOn(node).setOption(
    {
      animation: false,
      textStyle: { fontFamily: FONT },
      grid: { left: 56, right: 72, top: 16, bottom: 32 },
      tooltip: {
        trigger: "axis",
        formatter: (points) => tip(points.length ? formatDay(points[0].name) : "", points.map((p) => [p.color, `${name}：${p.value ?? "—"}`])),
      },
      xAxis: { type: "category", data: days, axisLabel: { formatter: formatDay, color: "#404040" } },
      yAxis: { type: "value", axisLabel: { color: "#404040" } },
      series: [
        {
          name,
          type: "line",
          data: values,
          itemStyle: { color: COLOURS.second },
          lineStyle: { color: COLOURS.second },
          markLine: { symbol: "none", silent: true, data: lines },
        },
      ],
    },
    { notMerge: true },
  );
}

window.addEventListener("resize", () => {
  for (const node of document.querySelectorAll(".chart")) window.echarts?.getInstanceByDom(node)?.resize();
});
