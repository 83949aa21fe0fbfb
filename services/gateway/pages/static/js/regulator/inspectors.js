// /regulator/inspection/inspectors: a department's roster of inspectors (GET
// /inspection/inspectors?department=) and an enrolment (POST /inspection/inspectors: id,
// department, the merchants the inspector must never be drawn for); enrolling again replaces
// the entry.
import { api, userAction } from "../api.js";
import { announce } from "../shell.js";
import { departmentLabel, departmentOptions, when } from "./inspection-common.js";
import { clearErrors, element, requireRegulator, settled, showFieldError, showRefusal } from "./workbench.js";

const ID = /^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,63}$/;
const regulator = requireRegulator();
const table = document.getElementById("roster");
const filter = document.getElementById("roster-filter");

function row(inspector) {
  const tr = element("tr");
  tr.dataset.inspectorId = inspector.inspector_id;
  const head = element("th", "", inspector.inspector_id);
  head.scope = "row";
  tr.append(
    head,
    element("td", "", departmentLabel(inspector.department)),
    element("td", "hash", inspector.conflicts?.length ? inspector.conflicts.join("、") : "无"),
    element("td", "", inspector.blocked ? "已限制" : "可选派"),
    element("td", "", `${when(inspector.at)}${inspector.by ? ` · ${inspector.by}` : ""}`),
  );
  return tr;
}

async function load() {
  table.dataset.state = "loading";
  try {
    const roster = await api.get("/inspection/inspectors", { department: filter.elements.department.value });
    table.tBodies[0].replaceChildren(...roster.items.map(row));
    document.getElementById("roster-empty").hidden = roster.items.length > 0;
  } catch (error) {
    showRefusal(filter, error);
  } finally {
    settled(table);
  }
}

function conflictsOf(text) {
  return [...new Set(text.split(/[\s,，、]+/).filter(Boolean))];
}

function wire() {
  const department = regulator.department ?? "samr";
  departmentOptions(filter.elements.department, department);
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const form = document.getElementById("enrol");
  departmentOptions(form.elements.department, department);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const inspectorId = form.elements.inspector_id.value.trim();
    const conflicts = conflictsOf(form.elements.conflicts.value);
    const bad = conflicts.filter((c) => !ID.test(c));
    if (!ID.test(inspectorId)) showFieldError(form, "inspector_id", "请填写检查人员编号（字母、数字或 :_.@-，最多64个字符）。");
    if (bad.length) showFieldError(form, "conflicts", `商户编号有误：${bad.join("、")}`);
    if (!ID.test(inspectorId) || bad.length) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = { inspector_id: inspectorId, department: form.elements.department.value, conflicts };
      const done = await api.post("/inspection/inspectors", body, userAction());
      announce(`已登记检查人员 ${done.inspector_id}（${departmentLabel(done.department)}）。`);
      form.reset();
      filter.elements.department.value = done.department;
      form.elements.department.value = done.department;
      await load();
    } catch (error) {
      showRefusal(form, error, { codeFields: { invalid_department: "department" } });
    } finally {
      button.disabled = false;
    }
  });
  load();
}

if (regulator) wire();
