// The public merchant page's 监督检查结果 (一公开): the merchant's published inspection results
// (GET /inspections/public?merchant_id=, anyone: date, department, mode, result, status) and
// its inspection tier from GET /merchants/{id} `inspection`, explained in plain Chinese.
import { api } from "../api.js";
import { element } from "../dom.js";
import { formatDate } from "../format.js";
import { DEPARTMENTS, MODES, PUBLISHED_RESULTS, tierExplanation, word } from "../inspection.js";

function resultItem(published) {
  const item = element("li", "result-item");
  item.dataset.inspectionId = published.inspection_id;
  item.dataset.status = published.status;
  item.append(
    element("p", "result-finding", word(PUBLISHED_RESULTS, published.status)),
    element(
      "p",
      "result-meta",
      [published.at ? formatDate(published.at) : null, word(DEPARTMENTS, published.department), word(MODES, published.mode)]
        .filter(Boolean)
        .join(" · "),
    ),
  );
  return item;
}

async function published(merchantId) {
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < 10; pages += 1) {
    const page = await api.get("/inspections/public", { merchant_id: merchantId, limit: 100, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items.reverse(); // newest first
}

// Fills #inspections: the tier's explanation (when the merchant has one) and the results.
export async function showInspections(merchantId, merchant) {
  const tier = document.getElementById("inspections-tier");
  if (merchant.inspection) {
    tier.replaceChildren(...tierExplanation(merchant.inspection).map((line) => element("p", "tier-note", line)));
    tier.hidden = false;
  }
  const results = await published(merchantId);
  document.getElementById("inspections-list").replaceChildren(...results.map(resultItem));
  document.getElementById("inspections-empty").hidden = results.length > 0;
}
