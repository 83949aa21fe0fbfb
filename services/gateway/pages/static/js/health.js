// A merchant's 预付健康码 as the public directory and the consumer's merchant page show it: the
// badge, the reasons in plain Chinese, and the public warning when red or warned.
import { element } from "./dom.js";
import { formatDate } from "./format.js";
import { HEALTH_CODES, healthCodeLabel, indicatorLabel } from "./labels.js";

export function healthBadge(code) {
  const node = element("span", `health-badge health-${HEALTH_CODES[code] ? code : "none"}`);
  node.textContent = `预付健康码：${healthCodeLabel(code)}`;
  if (HEALTH_CODES[code]) node.title = HEALTH_CODES[code].hint;
  return node;
}

// One line per distinct meaning: two indicators may read alike in Chinese.
export function reasonsList(health, className = "health-reasons") {
  const reasons = element("ul", className);
  const seen = new Set();
  for (const reason of health.reasons) {
    const text = indicatorLabel(reason.indicator);
    if (!seen.has(text)) reasons.append(element("li", "", text));
    seen.add(text);
  }
  return reasons;
}

export function publicWarning(merchant, health) {
  // Built from the reasons' codes rather than the API's `public_warning` (English text); the
  // regulator's own warning (status "warned") is shown in the regulator's words.
  const parts = [];
  if (merchant.health_code === "red") {
    const since = health ? `（${formatDate(health.since)}起）` : "";
    parts.push(`风险提示：该商户预付健康码为红码${since}，已暂停售卡，请勿购买新卡。`);
  }
  if (merchant.status === "warned") {
    parts.push(`监管提示：${merchant.status_reason || "该商户已被监管部门警示。"}`);
  }
  if (!parts.length) return null;
  const node = element("p", "public-warning", parts.join(" "));
  node.setAttribute("data-testid", "public-warning");
  return node;
}
