// Inspections (issue 14) in the words of the inspector's phone page, the merchant's console and
// the public merchant page alike: departments, modes, findings, an inspection's status, the
// published statuses (一公开), a rectification's state, and what a merchant's tier means.
// Codes come from services/inspection (domain/draw.py MODES, domain/classification.py
// FINDINGS, application/projections.py statuses, ResultPublished statuses).

export { DEPARTMENTS, MODES } from "./labels.js";

export const FINDINGS = Object.freeze({
  none: "无问题",
  minor: "一般问题（责令整改）",
  serious: "严重问题（移送处理）",
});

// An inspection's own status (GET /inspections, /inspections/{id}).
export const INSPECTION_STATUSES = Object.freeze({
  planned: "待检查",
  checked_in: "已签到，待录入结果",
  data_checked: "已完成数据核查",
  result_recorded: "已录入结果",
  rectification_due: "待整改",
  rectification_submitted: "整改已提交，待验收",
  rectified: "整改已验收",
  published: "结果已公开",
});

// A published result's status (GET /inspections/public): what the public reads as the result.
export const PUBLISHED_RESULTS = Object.freeze({
  closed: "无问题",
  rectification_ordered: "责令整改，整改期内",
  rectification_overdue: "逾期未整改",
  rectified: "发现一般问题，整改完成",
  referred: "发现严重问题，已移送处理",
  visit_raised: "数据核查发现异常，已安排现场检查",
});

// A rectification's state on the merchant's console.
export const RECTIFICATION_STATES = Object.freeze({
  due: "待整改",
  submitted: "已提交",
  accepted: "已验收",
  overdue: "逾期",
});

export function word(table, code) {
  return Object.hasOwn(table, code) ? table[code] : "其他";
}

// "2026-12-01" (a platform day) as "2026年12月1日".
export function formatPlatformDay(day) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day ?? ""));
  return match ? `${match[1]}年${Number(match[2])}月${Number(match[3])}日` : "—";
}

// Today as the platform names days (UTC), for comparing with a deadline "YYYY-MM-DD".
export function todayUtc(now = new Date()) {
  return now.toISOString().slice(0, 10);
}

// The state of an inspection's rectification, or null when it has none (no minor finding).
export function rectificationState(inspection, today = todayUtc()) {
  const due = inspection.result?.rectification_due;
  if (!inspection.result || inspection.result.finding !== "minor" || !due) return null;
  const rectification = inspection.rectification;
  if (rectification?.accepted_at) return "accepted";
  if (rectification?.submitted_at) return "submitted";
  return due < today ? "overdue" : "due";
}

// What a tier means, in plain Chinese for consumers (GET /merchants/{id} `inspection`).
export const TIERS = Object.freeze({
  A: "信用好、风险低：以平台数据核查为主（无感监管），没有问题线索时不安排现场检查。",
  B: "总体良好：以平台数据核查为主，随机抽查比例较低。",
  C: "需要关注：随机抽查比例较高，会安排执法人员现场检查。",
  D: "重点监管：每年全部纳入随机抽查，现场检查次数最多。",
});

export function tierExplanation(inspection) {
  const lines = [`监管分级：${inspection.tier} 级。${TIERS[inspection.tier] ?? ""}`];
  lines.push(
    `本年度现场检查上限 ${inspection.quota_year} 次，已检查 ${inspection.visits_this_year} 次（“双随机、一公开”：随机抽取检查对象和执法人员，检查结果向社会公开）。`,
  );
  if (inspection.white_listed) lines.push("该商户已列入监管白名单：没有问题线索时不安排日常检查。");
  return lines;
}
