// Chinese words for the codes the consumer's pages show: card types and statuses, spend
// statuses, money events, refund rules and their formula inputs, complaint categories and
// statuses, and ledger event types. The words only name what the API answered; no rule here.

// Named alike on every page: ../labels.js.
export { CARD_STATUSES, CARD_TYPES, COMPLAINT_CATEGORIES, COMPLAINT_STATUSES, LEDGER_EVENTS } from "../labels.js";

export const SPEND_STATUSES = Object.freeze({
  pending: "待确认",
  confirmed: "已确认",
  rejected: "已拒绝",
  expired: "已过期",
  voided: "已作废",
});

export const HISTORY_TYPES = Object.freeze({
  deposit: "购卡资金存入银行存管",
  redemption_confirmed: "消费确认，划付商户",
  release: "按约定划付商户",
  refund: "退款",
  deposit_returned: "存管资金退回",
});

export const REFUND_RULES = Object.freeze({
  cooling_off: "冷静期无理由退款",
  on_request: "按剩余比例退款",
  expiry: "到期退款",
  merchant_default: "商户违约退款",
});

export const FORMULAS = Object.freeze({
  pro_rata: "按未消费部分占比退还实付金额",
  list_price: "已消费部分按原价计算，赠送部分作废",
});

export const AMOUNT_FIELDS = Object.freeze({
  amount: "金额",
  released_amount: "划付商户",
  refund_amount: "退款金额",
  upfront_amount: "预先划付",
  held_amount: "存入存管",
  price: "价格",
  bonus: "赠送",
});

export function label(table, code) {
  return Object.hasOwn(table, code) ? table[code] : code;
}
