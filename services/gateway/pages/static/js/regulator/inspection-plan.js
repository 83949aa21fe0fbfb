// /regulator/inspection/plans/<id>: a plan (GET /inspection/plans/{id}) with its commitment
// (seed_commitment, eligible_hash, the ledger entry and its receipt, GET /ledger/receipts/{id}),
// the 抽取 button (POST /inspection/plans/{id}/draw; 409 commitment_not_notarised until the
// ledger holds the commitment: its message, and the button stays for a retry), the draw (each
// inspection with its merchant, tier, mode, inspectors and status from GET
// /inspections?plan_id=, the unstaffed visits, the published seed) and 如何验证: eligible.json
// (a Blob of the draw's `eligible`; on a drawn plan the draw is asked again, which answers the
// same draw) and the command that re-runs it.
import { api, userAction } from "../api.js";
import { announce } from "../shell.js";
import {
  MODES,
  PLAN_KINDS,
  PLAN_STATUSES,
  departmentLabel,
  factList,
  inspectionRow,
  label,
  merchantNames,
  saveBlob,
  when,
} from "./inspection-common.js";
import { clearErrors, element, requireRegulator, settled, showFormError } from "./workbench.js";

const regulator = requireRegulator();
const box = document.getElementById("plan");
const planId = box.dataset.planId;
const drawForm = document.getElementById("draw");
let plan = null;
let eligible = null;

function hash(text) {
  return element("span", "hash", text || "—");
}

function showPlan() {
  document.getElementById("plan-title").textContent = `检查计划 · ${plan.period ?? ""} ${label(PLAN_KINDS, plan.kind)}`;
  const facts = document.getElementById("plan-facts");
  facts.replaceChildren();
  const fact = factList(facts);
  fact("计划编号", hash(plan.plan_id));
  fact("部门", departmentLabel(plan.department));
  fact("检查期间", plan.period);
  fact("检查类型", label(PLAN_KINDS, plan.kind));
  if (plan.reason) fact("理由", plan.reason).dataset.field = "reason";
  fact("状态", label(PLAN_STATUSES, plan.status)).dataset.field = "status";
  fact("开启", `${when(plan.at)}${plan.by ? ` · ${plan.by}` : ""}`);
  fact("待抽取名单", `${plan.merchants ?? "—"} 家商户，${plan.inspectors ?? "—"} 名检查人员`);
  fact("种子承诺（SHA-256）", hash(plan.seed_commitment)).dataset.field = "seed_commitment";
  fact("名单哈希（SHA-256）", hash(plan.eligible_hash)).dataset.field = "eligible_hash";
  fact("账本记录编号", hash(plan.ledger_event_id)).dataset.field = "ledger_event_id";
  document.getElementById("receipt-show").hidden = !plan.ledger_event_id;
  box.dataset.status = plan.status;
  const drawn = plan.status === "drawn";
  drawForm.hidden = drawn;
  document.getElementById("draw-note").textContent = drawn
    ? `已于 ${when(plan.drawn_at)} 抽取，种子已公布。`
    : "点击“抽取”随机抽取商户和检查人员。如果种子承诺尚未写入存证账本，平台会拒绝抽取，请稍后再试。";
}

async function showReceipt() {
  const facts = document.getElementById("receipt-facts");
  facts.replaceChildren();
  const fact = factList(facts);
  try {
    const receipt = await api.get(`/ledger/receipts/${encodeURIComponent(plan.ledger_event_id)}`);
    fact("账本位置", `第 ${receipt.index} 条（共 ${receipt.tree_size} 条）`);
    fact("记录哈希", hash(receipt.leaf_hash));
    fact("检查点", hash(`${receipt.checkpoint.origin} · ${receipt.checkpoint.size} · ${receipt.checkpoint.root_hash}`));
    announce("已显示种子承诺的账本收据。");
  } catch (error) {
    fact("账本收据", error.message);
  } finally {
    settled(facts);
  }
}

async function planInspections() {
  const found = new Map();
  let cursor = null;
  do {
    const page = await api.get("/inspections", { plan_id: planId, limit: 500, cursor: cursor ?? undefined });
    for (const item of page.items) found.set(item.inspection_id, item);
    cursor = page.next_cursor;
  } while (cursor);
  return found;
}

// The draw: `inspections` and `unstaffed` from the draw (or the drawn plan), each row
// completed by the inspection's own record (tier, status, joint visits) when it is there.
async function showDraw(inspections, unstaffed, seed) {
  const result = document.getElementById("draw-result");
  result.hidden = false;
  let records = new Map();
  try {
    records = await planInspections();
  } catch (error) {
    announce(error.message);
  }
  const nameOf = await merchantNames([...inspections, ...unstaffed].map((i) => i.merchant_id));
  const facts = document.getElementById("draw-facts");
  facts.replaceChildren();
  const fact = factList(facts);
  fact("公布的种子", hash(seed)).dataset.field = "seed";
  fact("抽中", `${inspections.length} 项检查（现场检查 ${inspections.filter((i) => i.mode === "visit").length} 项，数据核查 ${inspections.filter((i) => i.mode === "data").length} 项）`);
  const body = document.getElementById("drawn").tBodies[0];
  body.replaceChildren(...inspections.map((i) => inspectionRow({ ...i, ...(records.get(i.inspection_id) ?? {}) }, nameOf)));
  document.getElementById("drawn-empty").hidden = inspections.length > 0;
  const list = document.getElementById("unstaffed");
  list.replaceChildren(
    ...unstaffed.map((u) => {
      const item = element("li", "", `${nameOf(u.merchant_id)} · ${label(MODES, u.mode)}：本部门名录中可选派（无回避、未被限制）的检查人员不足`);
      item.dataset.merchantId = u.merchant_id;
      return item;
    }),
  );
  document.getElementById("unstaffed-empty").hidden = unstaffed.length > 0;
  const verify = document.getElementById("verify");
  verify.hidden = false;
  document.getElementById("verify-command").textContent = `python -m services.inspection.draw --seed ${seed} --eligible eligible.json`;
}

async function draw() {
  const answer = await api.post(`/inspection/plans/${encodeURIComponent(planId)}/draw`, {}, userAction());
  eligible = answer.eligible;
  return answer;
}

function wireDraw() {
  drawForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(drawForm);
    const button = document.getElementById("draw-button");
    button.disabled = true;
    try {
      const answer = await draw();
      plan = await api.get(`/inspection/plans/${encodeURIComponent(planId)}`);
      showPlan();
      await showDraw(answer.inspections, answer.unstaffed ?? [], answer.seed);
      announce(`抽取完成：${answer.inspections.length} 项检查。`);
    } catch (error) {
      // commitment_not_notarised: not yet in the ledger; the button stays for a retry.
      showFormError(drawForm, error.code === "commitment_not_notarised" ? `${error.message}（可再次点击“抽取”）` : error.message);
      announce(error.message);
    } finally {
      button.disabled = false;
      settled(drawForm);
    }
  });
  document.getElementById("receipt-show").addEventListener("click", showReceipt);
  document.getElementById("verify-download").addEventListener("click", async () => {
    const slot = document.getElementById("verify-error");
    slot.textContent = "";
    try {
      // A drawn plan's draw again answers the same draw, with its eligible list.
      if (!eligible) await draw();
      saveBlob(new Blob([JSON.stringify(eligible)], { type: "application/json" }), "eligible.json");
    } catch (error) {
      slot.textContent = error.message;
    }
  });
}

async function init() {
  wireDraw();
  try {
    plan = await api.get(`/inspection/plans/${encodeURIComponent(planId)}`);
    showPlan();
    if (plan.status === "drawn") await showDraw(plan.inspections ?? [], plan.unstaffed ?? [], plan.seed);
  } catch (error) {
    document.getElementById("plan-title").textContent = error.status === 404 ? "没有找到该检查计划。" : error.message;
  } finally {
    settled(box);
  }
}

if (regulator) init();
