// An API refusal of a form, shown where it belongs: a policy breach (422 policy_breach,
// details.breaches[] naming their `field`) and a field the API found invalid (400,
// details.fields or details.field) beside that field; anything else at the top of the form.
// `aliases` maps the API's field names to the form's (ends_at -> ends_on).
import { formatFen } from "../format.js";
import { breachMessage } from "./labels.js";
import { clearErrors, showFieldError, showFormError } from "./console.js";

const INVALID_FIELD = "请填写有效的内容。";

export function showRefusal(form, error, { aliases = {}, codeFields = {} } = {}) {
  clearErrors(form);
  const fieldOf = (name) => aliases[name] ?? name;
  const details = error.details ?? {};
  let placed = false;
  for (const breach of details.breaches ?? []) {
    placed = showFieldError(form, fieldOf(breach.field), breachMessage(breach, formatFen)) || placed;
  }
  for (const name of Object.keys(details.fields ?? {})) {
    placed = showFieldError(form, fieldOf(name), INVALID_FIELD) || placed;
  }
  if (typeof details.field === "string") {
    placed = showFieldError(form, fieldOf(details.field), INVALID_FIELD) || placed;
  }
  if (!placed && codeFields[error.code]) {
    placed = showFieldError(form, codeFields[error.code], error.message);
  }
  showFormError(form, placed ? `${error.message}请按各栏目旁的说明修改。` : error.message);
  focusFirstInvalid(form);
}

export function focusFirstInvalid(form) {
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
}
