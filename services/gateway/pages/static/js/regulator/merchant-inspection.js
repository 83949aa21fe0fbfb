// The drill-down's inspection part (issue 14): the merchant's classification from its card
// (GET /merchants/{id} `inspection`: risk class, credit grade, tier with the reasons, white
// list, yearly quota and visits so far), the white-list toggle (POST
// /merchants/{id}/inspection/white-list; tier A only, with a reason) and its inspections (GET
// /inspections?merchant_id=).
import { api, userAction } from "../api.js";
import { announce } from "../shell.js";
import { CLASSIFICATION_RULES, RISK_CLASSES, factList, inspectionRow, label, merchantNames } from "./inspection-common.js";
import { clearErrors, element, merchantPath, settled, showFieldError, showRefusal } from "./workbench.js";

function reasonText(reason) {
  const value = reason.value === null || reason.value === undefined ? "无" : String(reason.value);
  return `${label(CLASSIFICATION_RULES, reason.rule)}：${value}（规则：${reason.threshold}）`;
}

function showClassification(merchantId, found) {
  const facts = document.getElementById("classification");
  facts.replaceChildren();
  const form = document.getElementById("white-list");
  const note = document.getElementById("white-list-note");
  if (!found) {
    facts.append(element("p", "muted", "检查服务尚未对该商户分级。"));
    form.hidden = true;
    note.textContent = "";
    settled(facts);
    return;
  }
  const fact = factList(facts);
  fact("风险类别", label(RISK_CLASSES, found.risk_class));
  fact("信用等级", found.credit_grade);
  fact("检查分级", `${found.tier}级`).dataset.field = "tier";
  fact("白名单", found.white_listed ? "已列入（免于日常检查）" : "未列入").dataset.field = "white_listed";
  fact("本年度检查频次", `已检查 ${found.visits_this_year} 次，上限 ${found.quota_year} 次`).dataset.field = "quota";
  if (found.reasons?.length) {
    const reasons = element("ul", "reasons");
    for (const reason of found.reasons) reasons.append(element("li", "", reasonText(reason)));
    fact("分级依据", reasons);
  }
  facts.dataset.tier = found.tier;
  settled(facts);
  const on = form.elements.white_listed;
  on.value = found.white_listed ? "false" : "true";
  form.hidden = !(found.tier === "A" || found.white_listed);
  note.textContent = form.hidden ? "只有 A 级商户可以列入白名单。" : "白名单上的 A 级商户免于日常“双随机”抽查，仍可能被专项检查抽中。";
}

async function showInspections(merchantId) {
  const table = document.getElementById("merchant-inspections");
  try {
    const page = await api.get("/inspections", { merchant_id: merchantId, limit: 100 });
    const nameOf = await merchantNames([merchantId]);
    table.tBodies[0].replaceChildren(...page.items.map((item) => inspectionRow(item, nameOf)));
    document.getElementById("merchant-inspections-empty").hidden = page.items.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    settled(table);
  }
}

// Wires the white-list form once; `reload` reads the merchant's card again.
export function wireWhiteList(merchantId, reload) {
  const form = document.getElementById("white-list");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const reason = form.elements.reason.value.trim();
    if (!reason) {
      showFieldError(form, "reason", "请填写理由。");
      return;
    }
    const white = form.elements.white_listed.value === "true";
    try {
      await api.post(merchantPath(merchantId, "/inspection/white-list"), { white_listed: white, reason }, userAction());
      announce(white ? "已列入白名单。" : "已移出白名单。");
      form.reset();
      await reload();
    } catch (error) {
      showRefusal(form, error, { codeFields: { not_tier_a: "white_listed" } });
    }
  });
}

// The classification from the merchant's card, and its inspections.
export function showMerchantInspection(merchant) {
  showClassification(merchant.merchant_id, merchant.inspection ?? null);
  return showInspections(merchant.merchant_id);
}
