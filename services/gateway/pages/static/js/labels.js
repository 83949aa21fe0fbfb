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
// The regulators' departments (services/risk/domain/departments.py).
export const DEPARTMENTS = Object.freeze({
  samr: "市场监管局",
  commerce: "商务局",
  education: "教育局",
  sports: "体育局",
  association: "消费者协会（预付保）",
});

// How an inspection is done (services/inspection/domain/draw.py MODES).
export const MODES = Object.freeze({
  visit: "现场检查",
  data: "数据核查",
});

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

// The notarised events' types (an entry's event.type), for the consumer's receipts and the
// regulator's ledger list alike; a type not named here is shown as it is.
export const LEDGER_EVENTS = Object.freeze({
  "escrow.CardPurchased.v1": "售出预付卡",
  "escrow.CardActivated.v1": "预付卡生效",
  "escrow.CardCodeIssued.v1": "生成到店出示码",
  "escrow.CoolingOffStarted.v1": "冷静期开始",
  "escrow.DepositConfirmed.v1": "购卡资金存入银行存管",
  "escrow.PaymentAbandoned.v1": "未完成支付",
  "escrow.RedemptionRequested.v1": "发起消费",
  "escrow.RedemptionConfirmed.v1": "消费确认，划付商户",
  "escrow.RedemptionVoided.v1": "消费作废",
  "escrow.FundsReleased.v1": "按约定划付商户",
  "escrow.CardRefunded.v1": "退款",
  "escrow.RefundPaid.v1": "退款已支付",
  "escrow.DepositReturned.v1": "存管资金退回",
  "escrow.PayoutMade.v1": "结算给商户",
  "escrow.PayoutWithheld.v1": "暂停结算",
  "escrow.ReconciliationCompleted.v1": "完成银行对账",
  "merchant.MerchantApplied.v1": "商户申请入驻",
  "merchant.MerchantApproved.v1": "商户审核通过",
  "merchant.MerchantStatusChanged.v1": "商户状态变更",
  "merchant.MerchantFlagSet.v1": "名单变更",
  "merchant.UsccClaimed.v1": "登记统一社会信用代码",
  "merchant.UsccReleased.v1": "释放统一社会信用代码",
  "merchant.ProductCreated.v1": "上架卡种",
  "merchant.ProductRetired.v1": "下架卡种",
  "merchant.PromotionCreated.v1": "发布促销活动",
  "merchant.DefaultProposed.v1": "提议认定违约",
  "merchant.DefaultConfirmed.v1": "确认认定违约",
  "risk.HealthCodeChanged.v1": "健康码变更",
  "risk.ComplaintFiled.v1": "收到投诉",
  "risk.ComplaintResponded.v1": "商户回应投诉",
  "risk.ComplaintEscalated.v1": "投诉升级处理",
  "risk.ComplaintResolved.v1": "投诉已解决",
  "risk.ComplaintRuledUnfounded.v1": "投诉经认定不成立",
  "risk.SpendRated.v1": "消费评价",
  "risk.AlertOpened.v1": "产生预警",
  "risk.AlertAssigned.v1": "预警分派",
  "risk.AlertStepRecorded.v1": "预警处置记录",
  "risk.MerchantDelistingDue.v1": "应予下架",
  "inspection.ClassificationChanged.v1": "检查分级变更",
  "inspection.WhiteListChanged.v1": "检查白名单变更",
  "inspection.InspectorEnrolled.v1": "登记检查人员",
  "inspection.PlanCommitted.v1": "检查计划种子承诺",
  "inspection.PlanDrawn.v1": "检查计划抽取",
  "inspection.DataCheckRecorded.v1": "数据核查",
  "inspection.VisitRaised.v1": "转为现场检查",
  "inspection.CheckedIn.v1": "现场检查签到",
  "inspection.ResultRecorded.v1": "记录检查结果",
  "inspection.RectificationSubmitted.v1": "提交整改材料",
  "inspection.RectificationAccepted.v1": "整改验收",
  "inspection.ResultPublished.v1": "公开检查结果",
});

export function ledgerEventLabel(type) {
  return Object.hasOwn(LEDGER_EVENTS, type) ? LEDGER_EVENTS[type] : `其他记录（${type}）`;
}
