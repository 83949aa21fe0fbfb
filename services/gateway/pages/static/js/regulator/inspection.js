// /regulator/inspections/<id>: one inspection (GET /inspections/{id}): its plan, merchant,
// mode, inspectors and status; the check-ins (e码查); the data check or the visit's result;
// 综合查一次 (the joint visits it merged with, `joint_with`); the rectification with its
// evidence file (GET /evidence/{sha256}) and 验收 (POST /inspections/{id}/accept).
import { api, userAction } from "../api.js";
import { announce } from "../shell.js";
import {
  FINDINGS,
  INSPECTION_STATUSES,
  MODES,
  PUBLISHED_STATUSES,
  day,
  departmentLabel,
  downloadEvidence,
  factList,
  inspectionUrl,
  inspectorsText,
  label,
  merchantNames,
  planUrl,
  when,
} from "./inspection-common.js";
import { clearErrors, drillDownUrl, element, requireRegulator, settled, showFormError } from "./workbench.js";

const regulator = requireRegulator();
const box = document.getElementById("inspection");
const inspectionId = box.dataset.inspectionId;
const acceptForm = document.getElementById("accept");
let inspection = null;

function link(text, href) {
  const a = element("a", "", text);
  a.href = href;
  return a;
}

function hash(text) {
  return element("span", "hash", text || "—");
}

function showFacts(nameOf) {
  const facts = document.getElementById("inspection-facts");
  facts.replaceChildren();
  const fact = factList(facts);
  fact("商户", link(nameOf(inspection.merchant_id), drillDownUrl(inspection.merchant_id)));
  fact("检查方式", label(MODES, inspection.mode));
  fact("商户分级", inspection.tier ?? "—");
  fact("部门", departmentLabel(inspection.department));
  fact("检查计划", inspection.plan_id ? link(`${inspection.period ?? ""} ${inspection.plan_id}`.trim(), planUrl(inspection.plan_id)) : "—");
  fact("检查人员", inspectorsText(inspection.inspectors));
  fact("状态", label(INSPECTION_STATUSES, inspection.status)).dataset.field = "status";
  if (inspection.reason) fact("发起原因", inspection.reason === "data_check_failed" ? "数据核查未通过，转为现场检查" : inspection.reason);
  const joint = element("span");
  if (inspection.joint_with?.length) {
    joint.append("与以下检查合并为一次上门（综合查一次）：");
    inspection.joint_with.forEach((id, index) => joint.append(index ? "、" : "", link(id, inspectionUrl(id))));
  } else joint.textContent = "无";
  fact("综合查一次", joint).dataset.field = "joint_with";
  if (inspection.published) {
    fact("公开结果", `${label(PUBLISHED_STATUSES, inspection.published.status)}（${when(inspection.published.at)}）`).dataset.field = "published";
  }
  box.dataset.status = inspection.status;
  document.getElementById("inspection-title").textContent = `检查任务 · ${nameOf(inspection.merchant_id)}`;
  if (inspection.plan_id) document.getElementById("back").href = planUrl(inspection.plan_id);
}

function showCheckIns() {
  const list = document.getElementById("check-ins");
  list.replaceChildren(
    ...(inspection.check_ins ?? []).map((c) => element("li", "", `${when(c.at)} · ${c.inspector_id}${c.over_quota ? "（已超过该商户本年度检查频次）" : ""}`)),
  );
  document.getElementById("check-ins-empty").hidden = list.children.length > 0;
}

function showResult() {
  const facts = document.getElementById("result-facts");
  facts.replaceChildren();
  const fact = factList(facts);
  const check = inspection.data_check;
  if (check) {
    fact("数据核查", check.passed ? "通过" : "未通过").dataset.field = "data_check";
    fact("核查时间", when(check.at));
  }
  const result = inspection.result;
  if (!result && !check) fact("结果", "尚未记录");
  if (!result) return;
  fact("检查结论", label(FINDINGS, result.finding)).dataset.field = "finding";
  if (result.note) fact("说明", result.note);
  if (result.rectification_due) fact("整改期限", day(result.rectification_due));
  if (result.referral) fact("移送", typeof result.referral === "string" ? result.referral : JSON.stringify(result.referral));
  fact("记录", `${when(result.at)}${result.by ? ` · ${result.by}` : ""}`);
}

function showRectification() {
  const facts = document.getElementById("rectification-facts");
  facts.replaceChildren();
  const fact = factList(facts);
  const rect = inspection.rectification;
  const evidence = document.getElementById("evidence-box");
  evidence.hidden = !rect;
  acceptForm.hidden = inspection.status !== "rectification_submitted";
  if (!rect) {
    fact("整改", inspection.status === "rectification_due" ? "等待商户提交整改材料" : "无需整改");
    return;
  }
  fact("提交时间", when(rect.submitted_at));
  if (rect.note) fact("商户说明", rect.note);
  fact("证明材料（SHA-256）", hash(rect.evidence_sha256)).dataset.field = "evidence_sha256";
  fact("验收", rect.accepted_at ? `已验收（${when(rect.accepted_at)} · ${rect.accepted_by}）` : "待验收").dataset.field = "accepted";
}

function show(nameOf) {
  showFacts(nameOf);
  showCheckIns();
  showResult();
  showRectification();
}

async function load() {
  box.dataset.state = "loading";
  try {
    inspection = await api.get(`/inspections/${encodeURIComponent(inspectionId)}`);
    show(await merchantNames([inspection.merchant_id]));
  } catch (error) {
    document.getElementById("inspection-title").textContent = error.status === 404 ? "没有找到该检查任务。" : error.message;
  } finally {
    settled(box);
  }
}

function wire() {
  document.getElementById("evidence-download").addEventListener("click", async () => {
    try {
      await downloadEvidence(inspection.rectification.evidence_sha256);
    } catch (error) {
      announce(error.message);
    }
  });
  acceptForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(acceptForm);
    const button = acceptForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      inspection = await api.post(`/inspections/${encodeURIComponent(inspectionId)}/accept`, {}, userAction());
      show(await merchantNames([inspection.merchant_id]));
      announce("整改已验收，检查结果将予以公开。");
      await load(); // the publication follows the acceptance
    } catch (error) {
      showFormError(acceptForm, error.message);
    } finally {
      button.disabled = false;
    }
  });
  load();
}

if (regulator) wire();
