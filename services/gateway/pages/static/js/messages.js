// Error codes the API answers -> what the user reads, in Chinese. tests/pages checks that
// every code the gateway and the services can answer (collected from their source by
// tests/support/error_codes.py) has a message here. A code not listed falls back on a
// message for its HTTP status.
export const MESSAGES = Object.freeze({
  // The edge: tokens, input, limits, idempotency.
  authentication_required: "请先登录。",
  invalid_credentials: "登录信息不正确或已失效，请重新登录。",
  forbidden: "您没有权限进行此操作。",
  not_found: "没有找到相关内容。",
  bad_request: "请求有误，请检查后重试。",
  invalid_input: "填写的内容有误，请检查后重试。",
  invalid_json: "请求内容格式有误。",
  invalid_cursor: "列表已变化，请刷新页面后重试。",
  invalid_range: "日期范围有误：开始日期不能晚于结束日期，且最长一年。",
  invalid_idempotency_key: "请求编号无效，请刷新页面后重试。",
  idempotency_key_reused: "这次操作的内容与之前提交的不一致，请刷新页面后重试。",
  idempotency_in_progress: "上一次提交仍在处理中，请稍候。",
  method_not_allowed: "不支持这种操作。",
  request_too_large: "提交的内容过大。",
  request_entity_too_large: "提交的内容过大。",
  rate_limited: "操作过于频繁，请稍后再试。",
  too_many_attempts: "登录失败次数过多，请稍后再试。",
  internal_error: "系统出错了，请稍后重试。",
  service_unavailable: "服务暂时不可用，请稍后重试。",
  network_error: "网络连接失败，请检查网络后重试。",
  // Logins.
  invalid_code: "登录码无效或已使用，请重新进入小程序。",
  login_provider_bad_answer: "微信登录服务返回异常，请稍后重试。",
  login_provider_unavailable: "微信登录服务暂时不可用，请稍后重试。",
  stale_signature: "设备时间与平台相差过大，请校准时间。",
  replayed_signature: "该签名请求已使用过。",
  // Generic domain refusals.
  domain_error: "操作未能完成。",
  conflict: "内容已被修改，请刷新后重试。",
  business_rule_violated: "该操作不符合平台规则。",
  invalid_transition: "当前状态下不能进行此操作。",
  // Merchants.
  invalid_industry: "请选择有效的行业。",
  invalid_uscc: "统一社会信用代码格式不正确。",
  // Counter, cards, ratings, figures and search (issue 12's API).
  card_not_found: "没有找到这张卡，请核对卡码。",
  invalid_card_code: "卡码应为12位数字，请核对后重新输入。",
  product_retired: "该商品已停售。",
  already_rated: "这次消费已经评价过了。",
  spend_not_confirmed: "这次消费尚未确认完成，请稍后再评价。",
  invalid_stars: "评分应为1到5星。",
  text_too_long: "文字太长了，请精简后再提交。",
  invalid_rule: "退款规则不正确。",
  invalid_status: "状态筛选条件不正确。",
  invalid_date: "日期格式不正确。",
  invalid_date_range: "结束日期不能早于开始日期。",
  date_range_too_long: "一次最多查询366天。",
  query_too_long: "搜索内容太长，请精简后重试。",
  uscc_taken: "该统一社会信用代码已有商户在用。",
  invalid_licence_date: "营业执照日期无效。",
  invalid_flag: "无效的名单类型。",
  second_operator_required: "须由另一位运营人员审批。",
  second_regulator_required: "须由另一位监管人员确认。",
  default_needs_confirmation: "认定违约须另一位监管人员确认。",
  merchant_may_not_sell: "该商户目前不能售卡。",
  merchant_defaulted: "该商户已被认定违约。",
  not_green: "只有绿码商户才能获得信用推荐。",
  policy_breach: "超出了预付卡规则的上限（价格、期限或次数）。",
  invalid_type: "卡的类型无效。",
  invalid_promotion: "优惠设置无效。",
  promotion_overlaps: "该时间段已有其他优惠。",
  promotion_not_applicable: "该优惠不适用于此卡。",
  // Cards, payments and spends.
  consumer_cap_exceeded: "您在该商户的预付余额已达上限。",
  purchase_failed: "购卡未能完成，资金未被扣除，请稍后重试。",
  payment_mismatch: "支付信息与订单不符。",
  payment_abandoned: "支付已取消，请重新购卡。",
  card_not_pending: "该卡不在待支付状态。",
  card_not_active: "该卡当前不可使用。",
  card_expired: "该卡已过期。",
  not_expired: "该卡尚未到期。",
  insufficient_balance: "卡内余额或次数不足。",
  redemption_not_pending: "该消费请求已处理或已过期。",
  already_responded: "商户已回应过该投诉。",
  cooling_off_not_applicable: "该卡已不在冷静期内，不能无理由退款。",
  invalid_time: "时间格式无效。",
  // Complaints, alerts and the ledger.
  complaint_closed: "该投诉已结案。",
  complaint_limit_reached: "您对该商户的投诉次数已达上限，请稍后再试。",
  invalid_category: "请选择有效的投诉类别。",
  invalid_disposition: "无效的处理结果。",
  note_required: "请填写说明。",
  invalid_step: "无效的处理步骤。",
  verification_incomplete: "核查需填写说明并附上证据的哈希值。",
  no_checkpoint: "账本暂无可验证的检查点。",
  personal_data_erased: "相关个人信息已按要求删除。",
  // The daily reconciliation with the bank.
  not_reconciled: "这一天尚未完成对账，请稍后再看。",
});

const BY_STATUS = Object.freeze({
  0: MESSAGES.network_error,
  400: MESSAGES.invalid_input,
  401: MESSAGES.authentication_required,
  403: MESSAGES.forbidden,
  404: MESSAGES.not_found,
  409: MESSAGES.conflict,
  413: MESSAGES.request_too_large,
  422: MESSAGES.business_rule_violated,
  429: MESSAGES.rate_limited,
  503: MESSAGES.service_unavailable,
});

export function messageFor(code, status) {
  if (Object.hasOwn(MESSAGES, code)) return MESSAGES[code];
  if (Object.hasOwn(BY_STATUS, status)) return BY_STATUS[status];
  return status >= 500 ? MESSAGES.internal_error : "操作未能完成，请稍后重试。";
}
