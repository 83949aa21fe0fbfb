// /regulator/reconciliation: each day's reconciliation of the bank's statement with the
// platform's records, newest first (GET /reconciliation, paged by next_cursor), matched or
// with each difference; one day looked up by its date (GET /reconciliation/{date}).
import { api } from "../api.js";
import { formatDateTime, formatDay, formatFen } from "../format.js";
import { announce } from "../shell.js";
import { RECONCILIATION_KINDS, RECONCILIATION_SIDES, RECONCILIATION_STATUSES } from "./labels.js";
import { clearErrors, element, requireRegulator, settled, showFieldError, showRefusal } from "./workbench.js";

const regulator = requireRegulator();
const table = document.getElementById("days");
const more = document.getElementById("days-more");
let cursor = null;

function differences(day) {
  if (!day.differences.length) return element("span", "muted", "无");
  const list = element("ul", "differences");
  for (const d of day.differences) {
    list.append(element("li", "", `${RECONCILIATION_SIDES[d.side] ?? d.side}：${RECONCILIATION_KINDS[d.kind] ?? d.kind} ${d.reference}，${formatFen(d.amount)}${d.count > 1 ? `（${d.count}笔）` : ""}`));
  }
  const total = day.differences_total ?? day.differences.length;
  if (total > day.differences.length) {
    list.append(element("li", "muted", `共 ${total} 处差异，此处列出前 ${day.differences.length} 处。`));
  }
  return list;
}

function row(day) {
  const tr = element("tr", `recon-${day.status}`);
  tr.dataset.date = day.date;
  tr.dataset.status = day.status;
  const head = element("th", "", formatDay(day.date));
  head.scope = "row";
  const cell = element("td");
  cell.append(differences(day));
  tr.append(
    head,
    element("td", `recon-status recon-status-${day.status}`, RECONCILIATION_STATUSES[day.status] ?? day.status),
    element("td", "money", String(day.matched)),
    cell,
    element("td", "", day.reconciled_at ? formatDateTime(day.reconciled_at) : "—"),
  );
  return tr;
}

async function load() {
  more.disabled = true;
  table.dataset.state = "loading";
  try {
    const page = await api.get("/reconciliation", { cursor: cursor ?? undefined, limit: 30 });
    table.tBodies[0].append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    document.getElementById("days-empty").hidden = table.tBodies[0].children.length > 0;
  } catch (error) {
    document.getElementById("days-empty").hidden = false;
    document.getElementById("days-empty").textContent = error.message;
    announce(error.message);
  } finally {
    more.disabled = false;
    settled(table);
  }
}

function wire() {
  more.addEventListener("click", load);
  const form = document.getElementById("day-lookup");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const date = form.elements.date.value;
    if (!date) {
      showFieldError(form, "date", "请选择日期。");
      return;
    }
    try {
      const day = await api.get(`/reconciliation/${encodeURIComponent(date)}`);
      const old = table.querySelector(`tr[data-date="${CSS.escape(date)}"]`);
      if (old) old.replaceWith(row(day));
      else table.tBodies[0].prepend(row(day));
      announce(`${formatDay(date)}：${RECONCILIATION_STATUSES[day.status] ?? day.status}`);
    } catch (error) {
      showRefusal(form, error, { codeFields: { not_reconciled: "date" } });
    }
  });
  load();
}

if (regulator) wire();
