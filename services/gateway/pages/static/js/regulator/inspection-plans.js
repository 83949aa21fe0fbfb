// /regulator/inspection/plans: the department's inspection plans (GET /inspection/plans,
// paged by next_cursor) and a new plan (POST /inspection/plans: department, period 2026 or
// 2026Q1, routine or special with its reason), which opens on its own page to be drawn; a
// department's routine plan for a period is opened once (409 plan_exists: the list shows it).
import { api, userAction } from "../api.js";
import { announce } from "../shell.js";
import { PLAN_KINDS, PLAN_STATUSES, departmentLabel, departmentOptions, label, planUrl, when } from "./inspection-common.js";
import { clearErrors, element, requireRegulator, settled, showFieldError, showRefusal } from "./workbench.js";

const PERIOD = /^[0-9]{4}(Q[1-4])?$/;
const regulator = requireRegulator();
const table = document.getElementById("plans");
const more = document.getElementById("plans-more");
let department = "";
let cursor = null;

function row(plan) {
  const tr = element("tr");
  tr.dataset.planId = plan.plan_id;
  tr.dataset.status = plan.status;
  const head = element("th");
  head.scope = "row";
  const link = element("a", "", `${plan.period ?? ""} ${label(PLAN_KINDS, plan.kind)}`.trim());
  link.href = planUrl(plan.plan_id);
  head.append(link, element("span", "muted hash", ` ${plan.plan_id}`));
  tr.append(
    head,
    element("td", "", departmentLabel(plan.department)),
    element("td", "", plan.period ?? "—"),
    element("td", "", label(PLAN_KINDS, plan.kind)),
    element("td", "", label(PLAN_STATUSES, plan.status)),
    element("td", "", when(plan.at)),
  );
  return tr;
}

async function load(fresh) {
  more.disabled = true;
  table.dataset.state = "loading";
  if (fresh) {
    cursor = null;
    table.tBodies[0].replaceChildren();
  }
  try {
    const page = await api.get("/inspection/plans", { department, cursor: cursor ?? undefined, limit: 20 });
    table.tBodies[0].append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    document.getElementById("plans-empty").hidden = table.tBodies[0].rows.length > 0;
  } catch (error) {
    showRefusal(document.getElementById("plans-filter"), error);
  } finally {
    more.disabled = false;
    settled(table);
  }
}

function wire() {
  department = regulator.department ?? "";
  const filter = document.getElementById("plans-filter");
  departmentOptions(filter.elements.department, department, "全部部门");
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    department = filter.elements.department.value;
    load(true);
  });
  more.addEventListener("click", () => load(false));

  const form = document.getElementById("open-plan");
  departmentOptions(form.elements.department, department);
  form.elements.period.value = String(new Date().getFullYear());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const period = form.elements.period.value.trim().toUpperCase();
    const kind = form.elements.kind.value;
    const reason = form.elements.reason.value.trim();
    if (!PERIOD.test(period)) showFieldError(form, "period", "请填写年份（如 2026）或季度（如 2026Q1）。");
    if (kind === "special" && !reason) showFieldError(form, "reason", "专项检查须写明理由（投诉线索或专项行动）。");
    if (!PERIOD.test(period) || (kind === "special" && !reason)) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = { department: form.elements.department.value, period, kind, reason };
      const plan = await api.post("/inspection/plans", body, userAction());
      announce("检查计划已开启，种子承诺已提交存证账本。");
      location.assign(planUrl(plan.plan_id));
    } catch (error) {
      showRefusal(form, error, {
        codeFields: { invalid_period: "period", invalid_department: "department", invalid_kind: "kind", reason_required: "reason", invalid_reason: "reason" },
      });
      if (error.code === "plan_exists") {
        // The department's routine plan for the period is open already: list its plans.
        filter.elements.department.value = form.elements.department.value;
        department = filter.elements.department.value;
        load(true);
      }
    } finally {
      button.disabled = false;
    }
  });
  load(true);
}

if (regulator) wire();
