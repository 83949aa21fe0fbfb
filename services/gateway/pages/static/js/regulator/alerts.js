// /regulator/alerts: the alert queue. Filters (status, code, ONE of industry, department or
// assignee, age) live in the address; pages follow the API's next_cursor (a stack of the
// cursors seen goes back). An alert's panel shows its reasons and every step with who and
// when, and works it: assign, acknowledge, verify (a note and the evidence file's SHA-256,
// computed here: the file never leaves the browser), resolve with a disposition.
import { api, userAction } from "../api.js";
import { formatDateTime } from "../format.js";
import { healthBadge } from "../health.js";
import { announce } from "../shell.js";
import { ALERT_STATUSES, ALERT_STEPS, DEPARTMENTS, DISPOSITIONS, INDUSTRIES, departmentLabel, industryLabel, reasonLabel } from "./labels.js";
import { clearErrors, drillDownUrl, element, formatHours, requireRegulator, settled, showFieldError, showRefusal } from "./workbench.js";

const PAGE_SIZE = 50;
const DONE = { assign: "预警已指派。", acknowledge: "预警已接收。", verify: "核查已记录。", resolve: "预警已处置。" };
const FACETS = ["industry", "department", "assignee"];
const AGES = { lt24: [null, 24], gt24: [24, null], gt72: [72, null], gt168: [168, null] };
const regulator = requireRegulator();
const filters = document.getElementById("filters");
const table = document.getElementById("queue");
const panel = document.getElementById("alert-panel");
const prev = document.getElementById("prev-page");
const next = document.getElementById("next-page");
let cursors = [null]; // the cursor of each page seen; the last is the page shown
let nextCursor = null;
let shown = new Map(); // alert_id -> alert, for the panel
let current = null; // the alert in the panel
// The moment the age filter is measured from, fixed when the filters are applied: a cursor
// belongs to one exact query, so the pages of one list must ask with the same time bounds.
let asOf = Date.now();

function options(select, entries, first) {
  const made = Object.entries(entries).map(([value, words]) => {
    const option = element("option", "", words);
    option.value = value;
    return option;
  });
  if (first) {
    const none = element("option", "", first);
    none.value = "";
    made.unshift(none);
  }
  select.replaceChildren(...made);
}

function showFacet() {
  const facet = filters.elements.facet.value;
  for (const name of FACETS) document.getElementById(`facet-${name}`).hidden = name !== facet;
}

// The form's filters -> the API's query (without the cursor).
function queryOf() {
  const f = filters.elements;
  const query = { status: f.status.value, code: f.code.value || undefined, limit: PAGE_SIZE };
  const facet = f.facet.value;
  if (facet && f[facet].value.trim()) query[facet] = f[facet].value.trim();
  const [older, younger] = AGES[f.age.value] ?? [null, null];
  if (older) query.opened_before = new Date(asOf - older * 3_600_000).toISOString();
  if (younger) query.opened_after = new Date(asOf - younger * 3_600_000).toISOString();
  return query;
}

function fromAddress() {
  const params = new URLSearchParams(location.search);
  const f = filters.elements;
  f.status.value = params.get("status") || "open";
  f.code.value = params.get("code") || "";
  f.age.value = params.get("age") || "";
  for (const name of FACETS) {
    if (params.get(name)) {
      f.facet.value = name;
      f[name].value = params.get(name);
    }
  }
  showFacet();
}

function toAddress() {
  const f = filters.elements;
  const params = new URLSearchParams();
  params.set("status", f.status.value);
  for (const name of ["code", "age"]) if (f[name].value) params.set(name, f[name].value);
  const facet = f.facet.value;
  if (facet && f[facet].value.trim()) params.set(facet, f[facet].value.trim());
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function merchantCell(alert) {
  const cell = element("td");
  if (!alert.merchant_id) {
    cell.append(element("span", "", "全市存管资金对账"));
    return cell;
  }
  const link = element("a", "", alert.merchant_name || alert.merchant_id);
  link.href = drillDownUrl(alert.merchant_id);
  cell.append(link, element("div", "muted", industryLabel(alert.industry)));
  return cell;
}

function ageCell(alert) {
  const cell = element("td", alert.overdue ? "overdue" : "");
  cell.append(element("span", "", `${formatHours(alert.age_hours)} / 时限${formatHours(alert.sla_hours)}`));
  if (alert.overdue) cell.append(element("strong", "overdue-mark", "已超时"));
  return cell;
}

function row(alert) {
  const tr = element("tr", alert.overdue ? "is-overdue" : "");
  tr.dataset.alertId = alert.alert_id;
  const reasons = [...new Set(alert.reasons.map((r) => reasonLabel(r.indicator)))].join("；");
  const code = element("td");
  code.append(healthBadge(alert.code));
  const button = element("button", "button secondary", "处理");
  button.type = "button";
  button.setAttribute("aria-label", `处理 ${alert.merchant_name || "对账差异"} 的预警`);
  button.addEventListener("click", () => openPanel(alert.alert_id));
  const action = element("td");
  action.append(button);
  tr.append(
    merchantCell(alert),
    code,
    element("td", "", reasons),
    element("td", "", departmentLabel(alert.department)),
    element("td", "", alert.assignee || "未指派"),
    ageCell(alert),
    element("td", "", ALERT_STATUSES[alert.status] ?? alert.status),
    action,
  );
  return tr;
}

async function load() {
  table.dataset.state = "loading";
  prev.disabled = next.disabled = true;
  const query = { ...queryOf(), cursor: cursors.at(-1) ?? undefined };
  try {
    const page = await api.get("/alerts", query);
    shown = new Map(page.items.map((a) => [a.alert_id, a]));
    table.tBodies[0].replaceChildren(...page.items.map(row));
    nextCursor = page.next_cursor;
    document.getElementById("queue-empty").hidden = page.items.length > 0;
    document.getElementById("page-number").textContent = `第${cursors.length}页`;
    table.dataset.page = String(cursors.length);
    announce(`第${cursors.length}页，本页${page.items.length}条预警`);
  } catch (error) {
    showRefusal(filters, error, { codeFields: { filter_combination_not_indexed: "facet" } });
    table.tBodies[0].replaceChildren();
  } finally {
    prev.disabled = cursors.length <= 1;
    next.disabled = !nextCursor;
    settled(table);
  }
}

function fact(list, term, value) {
  const pair = element("div");
  pair.append(element("dt", "", term), element("dd", "", value));
  list.append(pair);
}

function showPanel(alert) {
  current = alert;
  shown.set(alert.alert_id, alert);
  panel.hidden = false;
  panel.dataset.alertId = alert.alert_id;
  panel.dataset.status = alert.status;
  const facts = document.getElementById("alert-facts");
  facts.replaceChildren();
  fact(facts, "商户", alert.merchant_id ? alert.merchant_name || alert.merchant_id : "全市存管资金对账");
  fact(facts, "健康码", alert.code === "red" ? "红码" : "黄码");
  fact(facts, "状态", ALERT_STATUSES[alert.status] ?? alert.status);
  fact(facts, "主管部门", departmentLabel(alert.department));
  fact(facts, "经办人", alert.assignee || "未指派");
  fact(facts, "发生时间", formatDateTime(alert.opened_at));
  fact(facts, "处理时限", alert.due_at ? `${formatDateTime(alert.due_at)}${alert.overdue ? "（已超时）" : ""}` : "—");
  if (alert.disposition) fact(facts, "处置结果", DISPOSITIONS[alert.disposition] ?? alert.disposition);
  document.getElementById("alert-reasons").replaceChildren(
    ...alert.reasons.map((r) => element("li", "", `${reasonLabel(r.indicator)}（数值 ${r.value ?? "—"}，阈值 ${r.threshold}）`)),
  );
  // Assignments are kept apart from the steps by the API; the record shows them in time order.
  const assignments = (alert.assignments ?? []).map((a) => ({ ...a, step: "assigned" }));
  const record = [...(alert.steps ?? []), ...assignments].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  document.getElementById("alert-steps").replaceChildren(
    ...record.map((step) => {
      const item = element("li", "step");
      item.dataset.step = step.step;
      const who = `${step.by}${step.department ? `（${departmentLabel(step.department)}）` : ""}`;
      item.append(element("strong", "", ALERT_STEPS[step.step] ?? step.step), ` ${formatDateTime(step.at)} · ${who}`);
      if (step.assignee) item.append(element("div", "", `指派给：${step.assignee}`));
      if (step.disposition) item.append(element("div", "", `处置结果：${DISPOSITIONS[step.disposition] ?? step.disposition}`));
      if (step.note) item.append(element("div", "step-note", step.note));
      if (step.evidence_sha256) item.append(element("div", "hash", `证据 SHA-256：${step.evidence_sha256}`));
      return item;
    }),
  );
  const open = alert.status !== "resolved";
  document.getElementById("assign").hidden = !open;
  document.getElementById("acknowledge").hidden = alert.status !== "open";
  document.getElementById("verify").hidden = alert.status !== "acknowledged";
  document.getElementById("resolve").hidden = !["acknowledged", "verified"].includes(alert.status);
  // A reconciliation difference names no merchant: it cannot be warned about or delisted.
  for (const option of document.getElementById("resolve-disposition").options) {
    option.disabled = !alert.merchant_id && ["public_warning", "delisted"].includes(option.value);
  }
  for (const form of panel.querySelectorAll("form")) clearErrors(form);
}

function openPanel(alertId) {
  showPanel(shown.get(alertId));
  panel.focus();
}

// One step through the API; the panel and the row show the alert as the API answers it.
async function step(form, path, body) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  clearErrors(form);
  try {
    const alert = await api.post(`/alerts/${encodeURIComponent(current.alert_id)}/${path}`, body, userAction());
    const merged = { ...current, ...alert };
    showPanel(merged);
    const old = table.querySelector(`tr[data-alert-id="${CSS.escape(merged.alert_id)}"]`);
    if (old) old.replaceWith(row(merged));
    announce(DONE[path]);
    return true;
  } catch (error) {
    showRefusal(form, error);
    return false;
  } finally {
    button.disabled = false;
  }
}

async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function wire() {
  options(document.getElementById("filter-industry"), INDUSTRIES);
  options(document.getElementById("filter-department"), DEPARTMENTS);
  options(document.getElementById("resolve-disposition"), DISPOSITIONS, "请选择");
  fromAddress();
  filters.elements.facet.addEventListener("change", showFacet);
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(filters);
    toAddress();
    cursors = [null];
    asOf = Date.now();
    load();
  });
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors.push(nextCursor);
    load();
  });
  prev.addEventListener("click", () => {
    if (cursors.length > 1) cursors.pop();
    load();
  });
  document.getElementById("close-panel").addEventListener("click", () => {
    panel.hidden = true;
    current = null;
  });

  const assign = document.getElementById("assign");
  assign.addEventListener("submit", (event) => {
    event.preventDefault();
    const assignee = assign.elements.assignee.value.trim();
    if (!assignee) {
      clearErrors(assign);
      showFieldError(assign, "assignee", "请填写经办人编号。");
      return;
    }
    step(assign, "assign", { assignee });
  });
  document.getElementById("assign-me").addEventListener("click", () => {
    assign.elements.assignee.value = regulator.subject;
    assign.requestSubmit();
  });
  document.getElementById("acknowledge").addEventListener("submit", (event) => {
    event.preventDefault();
    step(event.target, "acknowledge", undefined);
  });

  const verify = document.getElementById("verify");
  const hash = document.getElementById("verify-evidence-sha");
  verify.elements.evidence.addEventListener("change", async () => {
    const file = verify.elements.evidence.files[0];
    hash.textContent = "";
    delete verify.dataset.sha256;
    if (!file) return;
    verify.dataset.sha256 = await sha256Hex(file);
    hash.textContent = `SHA-256 指纹：${verify.dataset.sha256}`;
  });
  verify.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(verify);
    const note = verify.elements.note.value.trim();
    const file = verify.elements.evidence.files[0];
    if (!note) showFieldError(verify, "note", "请填写核查说明。");
    if (!file) showFieldError(verify, "evidence", "请选择证据文件。");
    if (!note || !file) return;
    const sha = verify.dataset.sha256 ?? (await sha256Hex(file));
    if (await step(verify, "verify", { note, evidence_sha256: sha })) {
      verify.reset();
      hash.textContent = "";
      delete verify.dataset.sha256;
    }
  });

  const resolve = document.getElementById("resolve");
  resolve.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(resolve);
    const disposition = resolve.elements.disposition.value;
    if (!disposition) {
      showFieldError(resolve, "disposition", "请选择处置结果。");
      return;
    }
    step(resolve, "resolve", { disposition, note: resolve.elements.note.value.trim() });
  });
  load();
}

if (regulator) wire();
