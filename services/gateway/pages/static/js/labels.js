// Plain Chinese for the platform's codes the pages show: the 预付健康码, the reasons behind a
// code (the risk service's indicator names, services/risk/domain/health_code.py), the public
// metrics, the industries (services/merchant/domain/model.py INDUSTRIES), and the card types,
// card statuses and complaint categories and statuses both the consumer's pages and the
// merchant's console show, so the two name them alike. tests/pages checks that every
// indicator, flag, status and industry in the Python source has a label.

export const HEALTH_CODES = Object.freeze({
  green: { label: "绿码", hint: "经营正常，预付资金有保障" },
  yellow: { label: "黄码", hint: "存在风险迹象，请谨慎购卡" },
  red: { label: "红码", hint: "风险较高，暂停售卡" },
});

export function healthCodeLabel(code) {
  return HEALTH_CODES[code]?.label ?? "未评估";
}

export const INDUSTRIES = Object.freeze({
  education: "教育培训",
  fitness: "健身",
  beauty: "美容美发",
  catering: "餐饮",
  retail: "零售",
  other: "其他",
});

export function industryLabel(industry) {
  return INDUSTRIES[industry] ?? "其他";
}

// A reason's `indicator` -> what it means for a consumer.
export const INDICATORS = Object.freeze({
  escrow_coverage_percent: "存管资金不足以覆盖未消费的预付款",
  months_of_liability_x100: "未消费的预付款相对近期消费过多",
  issuance_spike_percent: "近期售卡量异常激增",
  refund_rate_per_mille: "退款率偏高",
  complaint_rate_per_thousand_cards: "投诉率偏高",
  dormancy_days: "长期无经营活动，但仍有未消费的预付款",
  complaint_surge_per_thousand_cards: "近期投诉集中增加",
  "status:defaulted": "已被监管部门认定违约",
  "status:delisted": "已被移出商户名录",
  "flag:dishonest_debtor": "被列入失信被执行人名单",
  "flag:abnormal_operations": "被列入经营异常名录",
  "flag:deregistering": "正在办理注销",
  "flag:closure_notice": "已发布停业公告",
  "flag:relocation_notice": "已发布迁址公告",
});

export function indicatorLabel(indicator) {
  return INDICATORS[indicator] ?? "其他风险情况";
}

// The metrics anyone may read on /merchants/{id}/health (services/risk/domain/indicators.py
// PUBLIC_METRICS), for the merchant pages.
export const METRICS = Object.freeze({
  spike_percent: "近期售卡量与平时之比（%）",
  liability_months_x100: "未消费预付款相当于几个月的消费（×100）",
  coverage_percent: "存管资金覆盖率（%）",
  refund_rate_per_mille: "退款率（‰）",
  complaints_per_thousand_cards: "每千张卡投诉数",
  unresolved_complaints_percent: "未解决投诉占比（%）",
  dormancy_days: "连续无经营活动天数",
  max_bonus_percent: "最高赠送比例（%）",
  observed_days: "观察天数",
  open_cards: "在用预付卡数",
});

// Prepaid cards (services/escrow/domain) and complaints (services/risk/domain), in the words
// of the consumer's pages and the merchant's console alike.
export const CARD_TYPES = Object.freeze({
  stored_value: "储值卡",
  count: "次卡",
  period: "期限卡",
});

export const CARD_STATUSES = Object.freeze({
  pending_payment: "待支付",
  active: "可使用",
  refunded: "已退款",
  expired: "已过期",
});

export const COMPLAINT_CATEGORIES = Object.freeze({
  refused_refund: "拒绝退款",
  service_not_provided: "未提供服务",
  closure_or_relocation: "停业或搬迁",
  misleading_sale: "虚假宣传、误导售卡",
  quality: "服务质量问题",
  other: "其他",
});

export const COMPLAINT_STATUSES = Object.freeze({
  open: "处理中",
  escalated: "已提交监管部门",
  resolved: "已解决",
});
