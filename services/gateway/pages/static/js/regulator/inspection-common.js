// What the workbench's inspection pages share (issue 14): Chinese words for the inspection
// service's codes, the department pickers, merchants' names by id (GET /merchants/{id}, the
// public card, asked once a page), the rows of an inspection list, and the download of an
// evidence file (GET /evidence/{sha256}, with the tab's bearer token, saved from a Blob).
import { ApiError, api } from "../api.js";
import { formatDate, formatDateTime } from "../format.js";
import { messageFor } from "../messages.js";
import { MODES } from "../labels.js";
import { currentSession } from "../session.js";
import { DEPARTMENTS, departmentLabel } from "./labels.js";
import { element } from "./workbench.js";

export { MODES };

export const PLAN_STATUSES = Object.freeze({
  committed: "已承诺，待抽取",
  drawn: "已抽取",
});
export const PLAN_KINDS = Object.freeze({
  routine: "日常检查",
  special: "专项检查",
});

// services/inspection/application/projections.py and visits.py.
export const INSPECTION_STATUSES = Object.freeze({
  planned: "待检查",
  checked_in: "已签到",
  data_checked: "已完成数据核查",
  result_recorded: "已记录结果",
  rectification_due: "待整改",
  rectification_submitted: "整改待验收",
  rectified: "已整改",
  published: "已公开",
});

export const FINDINGS = Object.freeze({
  none: "未发现问题",
  minor: "一般问题（责令整改）",
  serious: "严重问题（移送处理）",
});

// 一公开: the published result's status.
export const PUBLISHED_STATUSES = Object.freeze({
  closed: "已结案",
  rectified: "已整改",
  rectification_ordered: "责令整改，整改期内",
  rectification_overdue: "逾期未整改",
  referred: "已移送",
  visit_raised: "数据核查异常，已转现场检查",
});

export const RISK_CLASSES = Object.freeze({
  I: "Ⅰ类（重点监管）",
  II: "Ⅱ类",
});

// services/inspection/domain/classification.py: the rule behind each reason.
export const CLASSIFICATION_RULES = Object.freeze({
  class_i_min_liability: "未消费预付款金额（分）",
  class_i_sectors: "所属行业",
  class_i_red_within_days: "距上次红码天数",
  code: "当前健康码",
  credit_d_statuses: "商户状态",
  credit_d_flags: "名单",
  credit_d_serious_finding_days: "近期严重问题次数",
  credit_c_red_within_days: "距上次红码天数",
  credit_c_min_yellow_days: "黄码天数",
  credit_c_min_minor_findings: "计入信用的一般问题次数",
  credit_a_min_green_days: "连续绿码天数",
  credit_a_max_upheld_complaints: "成立的投诉数",
  credit_a_max_minor_findings: "计入信用的一般问题次数",
  tier: "风险类别/信用等级",
  white_list: "白名单",
});

export function label(table, code) {
  return table[code] ?? (code || "—");
}

export function planUrl(planId) {
  return `/regulator/inspection/plans/${encodeURIComponent(planId)}`;
}

export function inspectionUrl(inspectionId) {
  return `/regulator/inspections/${encodeURIComponent(inspectionId)}`;
}

// Fills a <select> with the departments, the regulator's own chosen; `any` first names the
// choice of every department (value "").
export function departmentOptions(select, chosen, any = null) {
  if (any) {
    const option = element("option", "", any);
    option.value = "";
    select.append(option);
  }
  for (const [value, words] of Object.entries(DEPARTMENTS)) {
    const option = element("option", "", words);
    option.value = value;
    option.selected = value === chosen;
    select.append(option);
  }
}

const names = new Map();

// {merchant_id: name} for these ids; an unknown or unreadable merchant keeps its id.
export async function merchantNames(ids) {
  const missing = [...new Set(ids)].filter((id) => !names.has(id));
  await Promise.all(
    missing.map(async (id) => {
      try {
        names.set(id, (await api.get(`/merchants/${encodeURIComponent(id)}`)).name);
      } catch {
        names.set(id, null);
      }
    }),
  );
  return (id) => names.get(id) || id;
}

export function inspectorsText(inspectors) {
  return inspectors && inspectors.length ? inspectors.join("、") : "—";
}

// One inspection as a table row: merchant (a link to the inspection), tier, mode,
// inspectors, status and 综合查一次.
export function inspectionRow(item, nameOf) {
  const tr = element("tr");
  tr.dataset.inspectionId = item.inspection_id;
  tr.dataset.merchantId = item.merchant_id;
  tr.dataset.status = item.status ?? "";
  const head = element("th");
  head.scope = "row";
  const link = element("a", "", nameOf(item.merchant_id));
  link.href = inspectionUrl(item.inspection_id);
  head.append(link);
  const status = element("td", "", item.status ? label(INSPECTION_STATUSES, item.status) : "—");
  if (item.joint_with?.length) status.append(element("span", "tag", `综合查一次（${item.joint_with.length + 1}个部门）`));
  tr.append(
    head,
    element("td", "", item.tier ?? "—"),
    element("td", "", label(MODES, item.mode)),
    element("td", "", inspectorsText(item.inspectors)),
    status,
  );
  return tr;
}

// A term and its value (text, or a node) appended to a <dl class="facts">.
export function factList(list) {
  return (term, value) => {
    const pair = element("div");
    const dd = element("dd");
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value ?? "—";
    pair.append(element("dt", "", term), dd);
    list.append(pair);
    return pair;
  };
}

export function when(at) {
  return at ? formatDateTime(at) : "—";
}

export function day(at) {
  return at ? formatDate(at) : "—";
}

export { departmentLabel };

// Saves the evidence file named by its SHA-256 as a download (the GET needs the bearer token,
// which a plain link would not carry).
export async function downloadEvidence(sha256) {
  const session = currentSession();
  let response;
  try {
    response = await fetch(`/api/v1/evidence/${encodeURIComponent(sha256)}`, {
      headers: session ? { Authorization: `Bearer ${session.token}` } : {},
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", messageFor("network_error", 0));
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    try {
      code = (await response.json()).error.code ?? code;
    } catch {
      // not the contract's JSON
    }
    throw new ApiError(response.status, code, messageFor(code, response.status));
  }
  saveBlob(await response.blob(), sha256);
}

// A Blob saved under `name` through a temporary link.
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = element("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
