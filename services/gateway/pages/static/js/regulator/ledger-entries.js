// The drill-down's ledger part: 账本记录, the published ledger entries naming the merchant
// (GET /merchants/{id}/ledger), newest first, 20 a page with 更多, and 账本收据, the receipt of
// one event (GET /ledger/receipts/{event_id}): typed in, or a row's 查看收据.
import { api } from "../api.js";
import { formatDateTime, formatFen } from "../format.js";
import { announce } from "../shell.js";
import { ledgerEventLabel } from "./labels.js";
import { clearErrors, element, merchantPath, settled, showFieldError, showFormError } from "./workbench.js";

const PAGE_SIZE = 20;
const receiptForm = document.getElementById("receipt");
const receiptFacts = document.getElementById("receipt-facts");

function fact(term, value) {
  const pair = element("div");
  pair.append(element("dt", "", term), element("dd", "", value));
  receiptFacts.append(pair);
}

// The receipt of one event: its place in the ledger, its leaf hash and the checkpoint.
async function showReceipt(id) {
  clearErrors(receiptForm);
  receiptFacts.replaceChildren();
  receiptFacts.dataset.state = "loading";
  try {
    const receipt = await api.get(`/ledger/receipts/${encodeURIComponent(id)}`);
    fact("记录编号", id);
    fact("账本位置", `第 ${receipt.index} 条（共 ${receipt.tree_size} 条）`);
    fact("记录哈希", receipt.leaf_hash);
    fact("包含证明", `${receipt.inclusion_proof.length} 个节点`);
    fact("检查点", `${receipt.checkpoint.origin} · ${receipt.checkpoint.size} · ${receipt.checkpoint.root_hash}`);
    return true;
  } catch (error) {
    showFormError(receiptForm, error.message);
    return false;
  } finally {
    settled(receiptFacts);
  }
}

// 查看收据 in the list: the same look-up, with its id in the form.
async function showListedReceipt(id) {
  receiptForm.elements.event_id.value = id;
  const shown = await showReceipt(id);
  document.getElementById("ledger-title").scrollIntoView({ block: "start" });
  if (shown) announce("已显示该记录的收据。");
}

function wireReceipt() {
  receiptForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(receiptForm);
    const id = receiptForm.elements.event_id.value.trim();
    if (!id) {
      receiptFacts.replaceChildren();
      showFieldError(receiptForm, "event_id", "请填写记录编号。");
      return;
    }
    await showReceipt(id);
  });
}

function row(item) {
  const tr = element("tr");
  tr.dataset.index = String(item.index);
  tr.dataset.eventId = item.event_id;
  tr.dataset.type = item.type;
  const button = element("button", "button secondary", "查看收据");
  button.type = "button";
  button.setAttribute("aria-label", `查看收据（第 ${item.index} 条记录）`);
  button.addEventListener("click", () => showListedReceipt(item.event_id));
  const action = element("td");
  action.append(button);
  tr.append(
    element("td", "", formatDateTime(item.at)),
    element("td", "", ledgerEventLabel(item.type)),
    element("td", "", item.amount === undefined ? "—" : formatFen(item.amount)),
    element("td", "", `第 ${item.index} 条`),
    action,
  );
  return tr;
}

function wireEntries(merchantId) {
  const table = document.getElementById("ledger-entries");
  const body = table.tBodies[0];
  const more = document.getElementById("ledger-entries-more");
  let cursor = null;

  async function load() {
    table.dataset.state = "loading";
    more.disabled = true;
    try {
      const query = cursor ? { limit: PAGE_SIZE, cursor } : { limit: PAGE_SIZE };
      const page = await api.get(merchantPath(merchantId, "/ledger"), query);
      body.append(...page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      document.getElementById("ledger-entries-empty").hidden = body.rows.length > 0;
      if (body.rows.length > PAGE_SIZE) announce(`已显示 ${body.rows.length} 条账本记录。`);
    } catch (error) {
      announce(error.message);
    } finally {
      more.disabled = false;
      settled(table);
    }
  }

  more.addEventListener("click", load);
  return load();
}

// Wires the receipt look-up and draws the merchant's entries.
export function showLedger(merchantId) {
  wireReceipt();
  return wireEntries(merchantId);
}
