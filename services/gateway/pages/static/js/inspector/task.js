// /inspector/inspections/<id>: one inspection for its inspector: the merchant, mode, plan and
// joint visits (综合查一次); the e码查 check-in with the merchant's code (scanned, or pasted),
// its over-quota warning and the inspector_blocked refusal; then the result form (无问题 /
// 一般问题 with a deadline of 1 to 90 days / 严重问题, a note), and the result once recorded.
import { api, userAction } from "../api.js";
import { fillFacts, idFromPath } from "../app/dom.js";
import { formatDateTime } from "../format.js";
import { DEPARTMENTS, FINDINGS, INSPECTION_STATUSES, MODES, formatPlatformDay, word } from "../inspection.js";
import { announce } from "../shell.js";
import { markReady, merchantOf, requireInspector } from "./common.js";
import { startScan } from "./scan.js";

const session = requireInspector();
const inspectionId = idFromPath();
const path = `/inspections/${encodeURIComponent(inspectionId)}`;
const $ = (id) => document.getElementById(id);
let stopScan = () => {};

function mine(inspection) {
  return inspection.check_ins.find((c) => c.inspector_id === session.subject) ?? null;
}

function showCheckedIn(at, overQuota) {
  $("checked-in").hidden = false;
  $("checked-in-text").textContent = `已签到：${formatDateTime(at)}`;
  // Once warned, the warning stays while the page is open.
  if (overQuota) $("over-quota").hidden = false;
}

async function show(inspection) {
  const article = $("task");
  article.dataset.status = inspection.status;
  const merchant = await merchantOf(inspection.merchant_id);
  const name = merchant ? merchant.name : inspection.merchant_id;
  document.title = `${name} 检查任务 - 预付保`;
  $("task-title").textContent = name;
  fillFacts($("task-facts"), [
    ["地址", merchant?.address ?? null],
    ["检查方式", word(MODES, inspection.mode)],
    ["实施部门", inspection.department ? word(DEPARTMENTS, inspection.department) : null],
    ["检查计划", inspection.plan_id ? `${inspection.period ?? ""} · ${inspection.plan_id}` : null],
    ["监管分级", inspection.tier ? `${inspection.tier} 级` : null],
    ["检查人员", inspection.inspectors.join("、")],
    ["状态", word(INSPECTION_STATUSES, inspection.status)],
  ]);
  const joint = $("task-joint");
  joint.hidden = !inspection.joint_with.length;
  joint.textContent = `综合查一次：与其他部门的 ${inspection.joint_with.length} 项检查（${inspection.joint_with.join("、")}）合并为一次到访，一次检查即可。`;

  const visit = inspection.mode === "visit";
  const checkIn = mine(inspection);
  $("check-in").hidden = !visit || inspection.result !== null || checkIn !== null;
  if (checkIn) showCheckedIn(checkIn.at, checkIn.over_quota);
  $("result").hidden = !visit || inspection.result !== null || checkIn === null;
  showOutcome(inspection);
}

function showOutcome(inspection) {
  const result = inspection.result;
  $("outcome").hidden = !result && !inspection.data_check;
  if (!result) {
    if (inspection.data_check) {
      fillFacts($("outcome-facts"), [["数据核查", inspection.data_check.passed ? "通过" : "未通过"]]);
    }
    return;
  }
  fillFacts($("outcome-facts"), [
    ["结论", word(FINDINGS, result.finding)],
    ["整改期限", result.rectification_due ? formatPlatformDay(result.rectification_due) : null],
    ["说明", result.note || null],
    ["录入时间", formatDateTime(result.at)],
  ]);
}

async function refresh() {
  await show(await api.get(path));
}

async function checkIn(code, action) {
  const error = $("check-in-error");
  error.textContent = "";
  const text = String(code).trim();
  if (!text) {
    error.textContent = "请扫码或粘贴商户检查码。";
    $("merchant-code").focus();
    return;
  }
  const button = $("check-in-submit");
  button.disabled = true;
  try {
    const done = await api.post(`${path}/check-in`, { merchant_code: text }, action);
    showCheckedIn(done.checked_in_at, done.over_quota);
    announce(done.over_quota ? "已签到。注意：该商户本年度检查次数已超上限。" : "已签到，请录入检查结果。");
    await refresh();
    (done.over_quota ? $("result-note") : $("result-submit")).focus();
  } catch (failure) {
    if (failure.code === "inspector_blocked") {
      $("blocked").hidden = false;
      $("blocked-text").textContent = failure.message;
      $("check-in").hidden = true;
      announce(failure.message);
    } else {
      error.textContent = failure.message;
      $("merchant-code").focus();
    }
  } finally {
    button.disabled = false;
  }
}

function resultBody(form) {
  const finding = form.elements.finding.value;
  const body = { finding, note: form.elements.note.value.trim() };
  if (finding === "minor") {
    const text = form.elements.rectification_days.value.trim();
    if (!/^\d{1,2}$/.test(text) || Number(text) < 1 || Number(text) > 90) {
      $("days-error").textContent = "整改期限应为 1 至 90 天。";
      form.elements.rectification_days.setAttribute("aria-invalid", "true");
      form.elements.rectification_days.focus();
      return null;
    }
    body.rectification_days = Number(text);
  }
  return body;
}

async function submitResult(event) {
  event.preventDefault();
  const form = event.currentTarget;
  $("days-error").textContent = "";
  $("result-error").textContent = "";
  form.elements.rectification_days.removeAttribute("aria-invalid");
  const body = resultBody(form);
  if (!body) return;
  const button = $("result-submit");
  button.disabled = true;
  try {
    const done = await api.post(`${path}/result`, body, userAction());
    await show(done);
    announce(`检查结果已提交：${word(FINDINGS, body.finding)}。`);
  } catch (failure) {
    $("result-error").textContent = failure.message;
  } finally {
    button.disabled = false;
  }
}

function wire() {
  const form = $("check-in-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    checkIn(form.elements.merchant_code.value, userAction());
  });
  $("scan-start").addEventListener("click", async () => {
    $("scan-start").hidden = true;
    $("scan-stop").hidden = false;
    stopScan = await startScan($("scan-video"), {
      say: (text) => {
        $("scan-state").textContent = text;
      },
      onCode: (code) => {
        $("scan-stop").hidden = true;
        $("scan-start").hidden = false;
        form.elements.merchant_code.value = code;
        $("scan-state").textContent = "已读取检查码，正在签到…";
        checkIn(code, userAction());
      },
    });
    if ($("scan-video").hidden) {
      $("scan-stop").hidden = true;
      $("scan-start").hidden = false;
    }
  });
  $("scan-stop").addEventListener("click", () => {
    stopScan();
    $("scan-stop").hidden = true;
    $("scan-start").hidden = false;
    $("scan-state").textContent = "";
  });
  const result = $("result-form");
  result.addEventListener("change", () => {
    $("days-field").hidden = result.elements.finding.value !== "minor";
  });
  result.addEventListener("submit", submitResult);
  result.elements.rectification_days.addEventListener("input", () => {
    $("days-error").textContent = "";
    result.elements.rectification_days.removeAttribute("aria-invalid");
  });
}

async function init() {
  if (!session) return;
  wire();
  try {
    await refresh();
  } catch (error) {
    $("task-title").textContent = "检查任务";
    announce(error.message);
  } finally {
    markReady($("task"));
  }
}

init();
