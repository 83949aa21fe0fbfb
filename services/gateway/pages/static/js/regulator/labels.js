// Plain Chinese for what the regulator's workbench shows beyond the shared labels: departments
// (services/risk/domain/departments.py), the alert queue's statuses, steps and dispositions
// (services/risk/domain/complaints.py), the alert-only reasons, the merchant statuses and the
// listings (services/merchant/domain/model.py FLAGS), the reconciliation's words, and the
// city figures.
import { DEPARTMENTS, indicatorLabel as sharedIndicatorLabel } from "../labels.js";

export { DEPARTMENTS };

export {
  COMPLAINT_CATEGORIES,
  COMPLAINT_STATUSES,
  HEALTH_CODES,
  INDUSTRIES,
  METRICS,
  healthCodeLabel,
  industryLabel,
  ledgerEventLabel,
} from "../labels.js";

// services/risk/domain/departments.py department_of_industry: 商务局 for every sector
// without its own.
const SECTOR_DEPARTMENTS = Object.freeze({ education: "education", fitness: "sports" });

export function departmentOfIndustry(industry) {
  return SECTOR_DEPARTMENTS[industry] ?? "commerce";
}

export function departmentLabel(department) {
  return DEPARTMENTS[department] ?? (department || "—");
}

export const ALERT_STATUSES = Object.freeze({
  open: "待接收",
  acknowledged: "已接收",
  verified: "已核查",
  resolved: "已处置",
});

export const ALERT_STEPS = Object.freeze({
  assigned: "指派",
  acknowledged: "接收",
  verified: "核查",
  resolved: "处置",
});

export const DISPOSITIONS = Object.freeze({
  verified_ok: "核查无问题",
  rectification_ordered: "责令整改",
  public_warning: "公开警示",
  delisted: "移出商户名录（下架）",
});

// Reasons only an alert has; every other reason is the health code's (../labels.js).
export const ALERT_INDICATORS = Object.freeze({
  complaint_escalated: "消费者投诉已提交监管部门",
  reconciliation_difference: "存管资金对账发现差异",
});

export function reasonLabel(indicator) {
  return ALERT_INDICATORS[indicator] ?? sharedIndicatorLabel(indicator);
}

export const MERCHANT_STATUSES = Object.freeze({
  pending: "待审核",
  active: "正常经营",
  warned: "已公开警示",
  delisted: "已下架",
  closed: "已关闭",
  defaulted: "已认定违约",
});

export const FLAGS = Object.freeze({
  dishonest_debtor: "失信被执行人名单",
  abnormal_operations: "经营异常名录",
  deregistering: "正在办理注销",
  closure_notice: "停业公告",
  relocation_notice: "迁址公告",
});

export const DEFAULT_STATUSES = Object.freeze({
  none: "未认定违约",
  proposed: "已提议认定违约，待另一名监管人员确认",
  refunding: "正在批量退款",
  finished: "已认定违约，批量退款已完成",
});

export const RECONCILIATION_STATUSES = Object.freeze({
  matched: "相符",
  differences: "有差异",
});

export const RECONCILIATION_SIDES = Object.freeze({
  missing_at_bank: "银行缺少平台记录的款项",
  unexpected_at_bank: "银行有平台未记录的款项",
});

// The kinds of money movement on the bank's statement.
export const RECONCILIATION_KINDS = Object.freeze({
  deposit: "预付款存入",
  refund: "原路退款",
  payout: "结算划付商户",
});

// GET /stats/city figures: [field, words, kind] (kind: money, count or bp).
export const CITY_FIGURES = Object.freeze([
  ["merchants", "商户数", "count"],
  ["outstanding_liability", "未消费预付款", "money"],
  ["escrow_held", "存管资金", "money"],
  ["escrow_coverage_bp", "存管覆盖率", "bp"],
  ["cards_issued", "售出卡数", "count"],
  ["refunds", "退款金额", "money"],
  ["complaints", "投诉数", "count"],
]);
