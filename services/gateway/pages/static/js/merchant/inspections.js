// /merchant/inspections: the merchant's e码查 check-in code (GET /merchants/{id}/inspection-code,
// valid 10 minutes) as a QR and as text, fetched again before it expires; and the 整改 box:
// its inspections with a rectification (a minor finding), each with its deadline and state
// (待整改 / 已提交 / 已验收 / 逾期), answered with an evidence file: the page computes the
// file's SHA-256 (crypto.subtle), PUTs the raw bytes to /evidence/{sha256}, then POSTs
// /inspections/{id}/rectification {evidence_sha256, note}.
import { api, putBytes, userAction } from "../api.js";
import { formatDateTime } from "../format.js";
import {
  DEPARTMENTS,
  FINDINGS,
  RECTIFICATION_STATES,
  formatPlatformDay,
  rectificationState,
  word,
} from "../inspection.js";
import { announce } from "../shell.js";
import qrcode from "../../vendor/qrcode-generator/qrcode.mjs";
import { element, merchantPath, requireMerchant, settled } from "./console.js";

const REFRESH_MS = 8 * 60 * 1000; // the code is valid 10 minutes: fetched again 2 minutes early
const MAX_EVIDENCE_BYTES = 5 * 1024 * 1024; // the gateway's default evidence limit
const merchantId = requireMerchant();
const $ = (id) => document.getElementById(id);
let fetchedAt = 0;
let timer = null;

// --- the check-in code -------------------------------------------------------------------

function showCode(code) {
  const qr = qrcode(0, "M");
  qr.addData(code.merchant_code, "Byte");
  qr.make();
  const img = $("code-qr");
  img.src = qr.createDataURL(4, 4);
  img.alt = "e码查 检查码二维码，供执法人员扫码签到";
  img.hidden = false;
  $("code-text").textContent = code.merchant_code;
  $("code-expires").textContent = `有效期至 ${formatDateTime(code.expires_at)}`;
  $("code-card").dataset.expiresAt = code.expires_at;
}

async function loadCode() {
  window.clearTimeout(timer);
  try {
    showCode(await api.get(merchantPath(merchantId, "/inspection-code")));
    fetchedAt = Date.now();
    timer = window.setTimeout(loadCode, REFRESH_MS);
  } catch (error) {
    $("code-expires").textContent = `检查码获取失败：${error.message}`;
    timer = window.setTimeout(loadCode, 30 * 1000);
  } finally {
    settled($("code-card"));
  }
}

// --- the 整改 box --------------------------------------------------------------------------

async function allInspections() {
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < 20; pages += 1) {
    const page = await api.get("/inspections", { merchant_id: merchantId, limit: 100, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function rectificationForm(inspection, n) {
  const form = element("form", "rect-form");
  form.noValidate = true;
  const fileId = `rect-file-${n}`;
  const noteId = `rect-note-${n}`;
  const errorId = `rect-error-${n}`;
  const fileField = element("div", "field");
  const fileLabel = element("label", "", "整改证明材料（照片或文件，最大 5 MB）");
  fileLabel.htmlFor = fileId;
  const file = element("input");
  Object.assign(file, { id: fileId, name: "evidence", type: "file", required: true });
  file.setAttribute("aria-describedby", errorId);
  fileField.append(fileLabel, file);
  const noteField = element("div", "field");
  const noteLabel = element("label", "", "整改说明");
  noteLabel.htmlFor = noteId;
  const note = element("textarea");
  Object.assign(note, { id: noteId, name: "note", maxLength: 500, rows: 3 });
  noteField.append(noteLabel, note);
  const error = element("p", "form-error");
  error.id = errorId;
  error.setAttribute("role", "alert");
  const submit = element("button", "button", "提交整改");
  submit.type = "submit";
  form.append(fileField, noteField, error, element("div", "field"));
  form.lastChild.append(submit);
  const action = userAction(); // one submission, whatever retries it takes
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitRectification(inspection, form, action);
  });
  return form;
}

async function submitRectification(inspection, form, action) {
  const error = form.querySelector(".form-error");
  const input = form.elements.evidence;
  error.textContent = "";
  input.removeAttribute("aria-invalid");
  const file = input.files[0];
  const refuse = (message) => {
    error.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  };
  if (!file) return refuse("请选择整改证明材料。");
  if (file.size === 0) return refuse("证明材料不能为空文件。");
  if (file.size > MAX_EVIDENCE_BYTES) return refuse("证明材料不能超过 5 MB。");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const bytes = await file.arrayBuffer();
    const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
    await putBytes(`/evidence/${sha256}`, bytes);
    await api.post(
      `/inspections/${encodeURIComponent(inspection.inspection_id)}/rectification`,
      { evidence_sha256: sha256, note: form.elements.note.value.trim() },
      action,
    );
    announce("整改材料已提交，等待监管部门验收。");
    await loadRectifications();
    $("rect-title").focus();
  } catch (failure) {
    error.textContent = failure.message;
  } finally {
    button.disabled = false;
  }
}

function rectificationItem(inspection, n) {
  const state = rectificationState(inspection);
  const result = inspection.result;
  const item = element("li", "rectification-item");
  item.dataset.inspectionId = inspection.inspection_id;
  item.dataset.state = state;
  item.append(
    element("h3", "", `${word(DEPARTMENTS, inspection.department)} · ${formatDateTime(result.at)} 检查`),
    element("p", "", `结论：${word(FINDINGS, result.finding)}${result.note ? `。${result.note}` : ""}`),
    element("p", "", `整改期限：${formatPlatformDay(result.rectification_due)}`),
  );
  const status = element("p", `rect-state rect-${state}`, `状态：${word(RECTIFICATION_STATES, state)}`);
  item.append(status);
  const rectification = inspection.rectification;
  if (rectification?.submitted_at) {
    item.append(element("p", "muted", `已于 ${formatDateTime(rectification.submitted_at)} 提交整改材料（SHA-256 ${rectification.evidence_sha256.slice(0, 12)}…）`));
  }
  if (rectification?.accepted_at) {
    item.append(element("p", "muted", `已于 ${formatDateTime(rectification.accepted_at)} 通过验收`));
  }
  if (state === "due" || state === "overdue") item.append(rectificationForm(inspection, n));
  return item;
}

async function loadRectifications() {
  const box = $("rectifications");
  try {
    const due = (await allInspections()).filter((i) => rectificationState(i) !== null);
    $("rect-list").replaceChildren(...due.map(rectificationItem));
    $("rect-empty").hidden = due.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    settled(box);
  }
}

if (merchantId) {
  $("code-refresh").addEventListener("click", loadCode);
  // A tab left in the background may have slept past its timer: fetch again when shown.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() - fetchedAt > REFRESH_MS) loadCode();
  });
  loadCode();
  loadRectifications();
}
