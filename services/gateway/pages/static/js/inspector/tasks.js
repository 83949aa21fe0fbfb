// /inspector/: the logged-in inspector's inspections (GET /inspections?mine=1), newest plans
// first as the API pages them: merchant, mode, plan, status and joint visits, each a link to
// its task page.
import { api } from "../api.js";
import { element } from "../dom.js";
import { DEPARTMENTS, INSPECTION_STATUSES, MODES, word } from "../inspection.js";
import { announce } from "../shell.js";
import { markReady, merchantOf, requireInspector } from "./common.js";

const session = requireInspector();
const list = document.getElementById("tasks");
const more = document.getElementById("tasks-more");
let cursor = null;

async function taskItem(inspection) {
  const merchant = await merchantOf(inspection.merchant_id);
  const item = element("li", "task-item");
  item.dataset.inspectionId = inspection.inspection_id;
  item.dataset.status = inspection.status;
  const link = element("a", "task-link", merchant ? merchant.name : inspection.merchant_id);
  link.href = `/inspector/inspections/${encodeURIComponent(inspection.inspection_id)}`;
  const title = element("h2", "task-name");
  title.append(link);
  item.append(
    title,
    element("p", "task-meta", [word(MODES, inspection.mode), word(DEPARTMENTS, inspection.department), inspection.period].filter(Boolean).join(" · ")),
    element("p", `task-status status-${inspection.status}`, word(INSPECTION_STATUSES, inspection.status)),
  );
  if (merchant?.address) item.append(element("p", "task-meta", merchant.address));
  if (inspection.joint_with?.length) {
    item.append(element("p", "joint", `综合查一次：与其他部门的 ${inspection.joint_with.length} 项检查合并为一次到访`));
  }
  return item;
}

async function load() {
  more.hidden = true;
  try {
    const page = await api.get("/inspections", { mine: 1, limit: 20, cursor });
    list.append(...(await Promise.all(page.items.map(taskItem))));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  } catch (error) {
    announce(error.message);
  }
  document.getElementById("tasks-empty").hidden = list.children.length > 0;
  markReady(list);
}

if (session) {
  document.getElementById("inspector-who").textContent = `执法人员：${session.subject}${session.department ? ` · ${word(DEPARTMENTS, session.department)}` : ""}`;
  more.addEventListener("click", load);
  load();
}
