// Plain Chinese for what the merchant's console shows: card types and their units, card,
// spend-request and complaint statuses, complaint categories, the stats' figures, and the
// policy's caps a product or promotion may breach (services/merchant/domain/products.py
// names each `rule`; tests/gateway/test_merchant_pages.py checks every one has words here).

// Named alike on every page: ../labels.js.
export { CARD_STATUSES, CARD_TYPES, COMPLAINT_CATEGORIES, COMPLAINT_STATUSES } from "../labels.js";

export const REDEMPTION_STATUSES = Object.freeze({
  pending: "等待顾客确认",
  confirmed: "已确认",
  rejected: "已拒绝",
  expired: "已过期",
  voided: "已作废",
});

// GET /merchants/{id}/stats and each day of /stats/daily: [field, words, is money].
export const FIGURES = Object.freeze([
  ["cards_issued", "售出卡数", false],
  ["issuance_amount", "售卡金额", true],
  ["redemptions_confirmed", "确认消费笔数", false],
  ["redemption_amount", "已划付给商户", true],
  ["upfront_paid", "购卡时预付", true],
  ["cards_refunded", "退卡数", false],
  ["refund_amount", "退款金额", true],
  ["open_cards", "在用卡数", false],
  ["outstanding_balance", "未消费余额", true],
  ["escrow_held", "存管资金", true],
]);

// A breach's `rule` -> the cap in words; the form shows it beside the breach's `field`.
export const POLICY_RULES = Object.freeze({
  "cards.max_card_price": "单张预付卡售价超过上限",
  "cards.max_validity_days": "有效期超过上限",
  "cards.max_period_days": "期限超过上限",
  "cards.max_uses": "次数超过上限",
  "cards.max_bonus_ratio_percent": "赠送金额超过售价的上限比例",
  "cards.max_promotion_days": "优惠活动持续时间超过上限",
  "sectors.education.max_price": "教育培训类预付卡售价超过上限",
  "sectors.education.max_lessons": "教育培训类课时数超过上限",
  "sectors.education.max_period_days": "教育培训类预付期限超过上限",
  "sectors.fitness.max_membership_price": "健身会员卡售价超过上限",
  "sectors.fitness.max_membership_days": "健身会员卡期限超过上限",
  "sectors.fitness.max_lesson_pack_price": "健身课程包售价超过上限",
  "sectors.fitness.max_lessons": "健身课程包课时数超过上限",
  "sectors.fitness.max_stored_value_price": "健身储值卡售价超过上限",
});

// The breach's limit, in the unit of its field.
const UNITS = Object.freeze({ validity_days: "天", period_days: "天", uses: "次", ends_at: "天" });

export function breachMessage(breach, formatFen) {
  const words = POLICY_RULES[breach.rule] ?? "超出了预付卡规则的上限";
  let limit;
  if (breach.rule.endsWith("_percent")) limit = `${breach.limit}%`;
  else if (breach.field === "price") limit = formatFen(breach.limit);
  else limit = `${breach.limit}${UNITS[breach.field] ?? ""}`;
  return `${words}（上限：${limit}）。`;
}
