// /app/receipts/<event_id>: the ledger receipt of one of my card's money events, verified
// here with WebCrypto against GET /keys (receipt-verify.js), each step shown; "已验证" only
// when every step passes. Below, what the entry records, decoded from its bytes.
import { api } from "../api.js";
import { AMOUNT_FIELDS, LEDGER_EVENTS, label } from "./labels.js";
import { requireConsumer } from "./consumer.js";
import { element, fillFacts, idFromPath } from "./dom.js";
import { formatDateTime, formatFen } from "../format.js";
import { decodeEntry, verifyReceipt } from "./receipt-verify.js";
import { announce } from "../shell.js";

const eventId = idFromPath();
const verdict = document.getElementById("verdict");

function showSteps(steps) {
  const list = document.getElementById("steps");
  list.replaceChildren(
    ...steps.map((s) => {
      const item = element("li", `verify-step ${s.ok ? "step-ok" : "step-failed"}`);
      item.dataset.step = s.id;
      item.dataset.ok = String(s.ok);
      item.append(
        element("span", "step-mark", s.ok ? "✓ 通过" : "✗ 未通过"),
        element("span", "step-title", s.title),
        element("span", "step-detail", s.detail),
      );
      return item;
    }),
  );
}

function showEntry(entry, receipt) {
  const list = document.getElementById("entry");
  if (!entry || !entry.event) {
    fillFacts(list, [["内容", "记录内容无法解读"]]);
    return;
  }
  const rows = [
    ["事件", label(LEDGER_EVENTS, entry.event.type)],
    ...Object.entries(entry.amounts || {}).map(([name, fen]) => [label(AMOUNT_FIELDS, name), formatFen(fen)]),
    ["记录时间", formatDateTime(entry.event.recorded_at)],
    ["卡号", entry.parties?.card_id ?? null],
    ["商户编号", entry.parties?.merchant_id ?? null],
    ["您在该商户的匿名编号", entry.parties?.consumer_id ?? null],
    ["账本位置", `第 ${receipt.index + 1} 条`],
  ];
  fillFacts(list, rows);
}

async function init() {
  try {
    const [receipt, keys] = await Promise.all([
      api.get(`/ledger/receipts/${encodeURIComponent(eventId)}`),
      api.get("/keys"),
    ]);
    const result = await verifyReceipt(receipt, keys);
    showSteps(result.steps);
    showEntry(decodeEntry(result.entry), receipt);
    const failed = result.steps.find((s) => !s.ok);
    verdict.textContent = result.verified ? "已验证" : `未通过核验：第 ${result.steps.indexOf(failed) + 1} 步（${failed.title.split("：")[0]}）`;
    verdict.dataset.state = result.verified ? "verified" : "failed";
    announce(verdict.textContent);
  } catch (error) {
    verdict.textContent = error.code === "not_found" || error.status === 404 ? "凭证尚未生成，请稍后刷新。" : error.message;
    verdict.dataset.state = "error";
    announce(verdict.textContent);
  }
}

if (requireConsumer()) init();
