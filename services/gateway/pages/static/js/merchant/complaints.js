// /merchant/complaints: the complaints about the merchant, oldest first, each with what the
// consumer wrote and, until the merchant has responded, a response box
// (POST /complaints/{id}/response).
import { api, userAction } from "../api.js";
import { formatDateTime } from "../format.js";
import { announce } from "../shell.js";
import { COMPLAINT_CATEGORIES, COMPLAINT_STATUSES } from "./labels.js";
import { clearErrors, element, merchantPath, requireMerchant, settled, showFieldError } from "./console.js";
import { focusFirstInvalid, showRefusal } from "./refusals.js";

const merchantId = requireMerchant();
const list = document.getElementById("complaints");

function responseForm(complaint, item) {
  const id = `respond-${complaint.complaint_id.replace(/[^A-Za-z0-9_-]/g, "")}`;
  const form = element("form", "product-form");
  form.id = id;
  form.noValidate = true;
  const field = element("div", "field");
  const label = element("label", "", "您的回应");
  label.htmlFor = `${id}-text`;
  const text = element("textarea");
  text.id = `${id}-text`;
  text.name = "response";
  text.maxLength = 4000;
  text.setAttribute("aria-describedby", `${id}-response-error`);
  const error = element("p", "field-error");
  error.id = `${id}-response-error`;
  field.append(label, text, error);
  const general = element("p", "form-error");
  general.setAttribute("role", "alert");
  const button = element("button", "button", "提交回应");
  button.type = "submit";
  form.append(field, general, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const response = text.value.trim();
    if (!response) {
      showFieldError(form, "response", "请填写回应内容。");
      focusFirstInvalid(form);
      return;
    }
    button.disabled = true;
    try {
      await api.post(`/complaints/${encodeURIComponent(complaint.complaint_id)}/response`, { response }, userAction());
      item.replaceWith(complaintItem({ ...complaint, responded: true, response }));
      announce("已提交回应，顾客将在投诉记录中看到。");
    } catch (refusal) {
      showRefusal(form, refusal, { aliases: { text: "response" } });
      button.disabled = false;
    }
  });
  return form;
}

function complaintItem(complaint) {
  const item = element("li", "panel");
  item.dataset.complaintId = complaint.complaint_id;
  const title = element("h2", "section-title", COMPLAINT_CATEGORIES[complaint.category] ?? "其他");
  const meta = element(
    "p",
    "muted",
    `${formatDateTime(complaint.filed_at)} · ${COMPLAINT_STATUSES[complaint.status] ?? complaint.status}` +
      (complaint.card_id ? " · 涉及一张预付卡" : ""),
  );
  item.append(title, meta);
  item.append(element("p", "complaint-text", complaint.text ?? "（顾客已删除个人信息，投诉内容不再显示。）"));
  if (complaint.responded) {
    const response = element("p", "complaint-response", `您的回应：${complaint.response ?? ""}`);
    item.append(response);
  } else if (complaint.status !== "resolved") {
    item.append(responseForm(complaint, item));
  }
  return item;
}

async function load() {
  try {
    const items = [];
    let cursor;
    do {
      const page = await api.get(merchantPath(merchantId, "/complaints"), { limit: 500, cursor });
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    list.replaceChildren(...items.map(complaintItem));
    document.getElementById("complaints-empty").hidden = items.length > 0;
    const open = items.filter((c) => !c.responded).length;
    announce(open ? `${open}条投诉等待您回应` : "没有待回应的投诉");
  } catch (error) {
    announce(error.message);
  } finally {
    settled(list);
  }
}

if (merchantId) load();
