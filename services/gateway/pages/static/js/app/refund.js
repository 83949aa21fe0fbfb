// A card's refund: the quote first (GET /cards/{id}/refund-quote, no effect), its amount, rule
// and the formula's inputs in words, then the consumer's confirmation, which sends the quoted
// rule so the refund pays what was quoted. The quote without a rule is the platform's choice
// for this card now (cooling-off while it applies); when that is cooling-off, the on-request
// refund is offered beside it.
import { api, userAction } from "../api.js";
import { CARD_TYPES, FORMULAS, REFUND_RULES, label } from "./labels.js";
import { element, fillFacts } from "./dom.js";
import { formatDate, formatFen } from "../format.js";
import { announce } from "../shell.js";

const REASONS = ["不再需要", "对服务不满意", "商户停业或搬迁", "其他原因"];

// The formula's inputs in words; a field the quote does not carry is left out.
function inputRows(inputs) {
  const rows = [
    ["卡的类型", label(CARD_TYPES, inputs.card_type)],
    ["实付金额", formatFen(inputs.price)],
  ];
  if (inputs.card_type === "stored_value") {
    rows.push(["赠送金额", formatFen(inputs.bonus)], ["已消费金额", formatFen(inputs.value_used)]);
  }
  if (inputs.card_type === "count") rows.push(["已用次数", `${inputs.uses_used} / ${inputs.uses} 次`]);
  if (inputs.card_type === "period") rows.push(["已过天数", `${inputs.days_elapsed} / ${inputs.period_days} 天`]);
  rows.push(["此前已划付商户", formatFen(inputs.released_before)]);
  if (inputs.age_days !== undefined) {
    rows.push(["冷静期", `购卡后第 ${inputs.age_days} 天（冷静期 ${inputs.cooling_off_days} 天内未使用可全额退款）`]);
  }
  rows.push(["计算方式", label(FORMULAS, inputs.formula)]);
  return rows;
}

function quoteBox(cardId, quote, onRefunded) {
  const box = element("div", "refund-quote");
  box.dataset.rule = quote.rule;
  box.append(
    element("h3", "quote-rule", label(REFUND_RULES, quote.rule)),
    element("p", "quote-amount", `可退金额 ${formatFen(quote.refund_amount)}`),
  );
  const facts = element("dl", "facts");
  fillFacts(facts, inputRows(quote.inputs));
  box.append(facts);
  const form = element("form", "refund-form");
  const id = `refund-reason-${quote.rule}`;
  const reasonLabel = element("label", "form-legend", "退款原因");
  reasonLabel.htmlFor = id;
  const reason = element("select", "weui-select refund-reason");
  reason.id = id;
  for (const text of REASONS) reason.append(Object.assign(element("option", "", text), { value: text }));
  const submit = element("button", "weui-btn weui-btn_primary", `确认退款 ${formatFen(quote.refund_amount)}`);
  submit.type = "submit";
  form.append(reasonLabel, reason, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const done = await api.post(
        `/cards/${encodeURIComponent(cardId)}/refund`,
        { reason: reason.value, rule: quote.rule },
        userAction(),
      );
      onRefunded(done);
    } catch (error) {
      announce(error.message);
      submit.disabled = false;
    }
  });
  box.append(form);
  return box;
}

export async function showQuotes(cardId, container, onRefunded) {
  const path = `/cards/${encodeURIComponent(cardId)}/refund-quote`;
  const best = await api.get(path);
  const quotes = [best];
  if (best.rule === "cooling_off") quotes.push(await api.get(path, { rule: "on_request" }));
  const done = (answer) => {
    const due = answer.due_on ? `，银行将于${formatDate(`${answer.due_on}T12:00:00+08:00`)}前退回原支付账户` : "";
    const result = element("p", "refund-done", `已退款 ${formatFen(answer.refund_amount)}（${label(REFUND_RULES, answer.rule)}）${due}。`);
    container.replaceChildren(result);
    announce(result.textContent);
    onRefunded(answer);
  };
  container.replaceChildren(...quotes.map((q) => quoteBox(cardId, q, done)));
  if (best.rule !== "cooling_off") {
    container.append(element("p", "hint", "冷静期无理由退款对这张卡已不适用，可按剩余比例退款。"));
  }
}
