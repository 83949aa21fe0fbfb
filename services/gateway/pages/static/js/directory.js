// The public directory `/`: search by name (`q`) and industry, each merchant with its
// 预付健康码 and, for a yellow or red code, the reasons in Chinese; paged by next_cursor.
import { api } from "./api.js";
import { element } from "./dom.js";
import { healthBadge, publicWarning, reasonsList } from "./health.js";
import { INDUSTRIES, industryLabel } from "./labels.js";
import { announce, initShell } from "./shell.js";

const PAGE_SIZE = 20;
const form = document.getElementById("search");
const list = document.getElementById("merchants");
const empty = document.getElementById("empty");
const more = document.getElementById("more");
let filters = {};
let cursor = null;
let nameSearchUnsupported = false;
const NO_NAME_SEARCH = "暂不支持按名称搜索，已显示全部商户。";

async function healthOf(merchantId) {
  try {
    return await api.get(`/merchants/${encodeURIComponent(merchantId)}/health`);
  } catch {
    return null; // not assessed yet, or risk unavailable: the badge alone is shown
  }
}

function card(merchant, health) {
  const item = element("li", "merchant-card");
  item.dataset.merchantId = merchant.merchant_id;
  const title = element("h3", "merchant-name");
  const link = element("a", "", merchant.name);
  link.href = `/app/merchants/${encodeURIComponent(merchant.merchant_id)}`;
  title.append(link);
  item.append(title, element("p", "merchant-meta", `${industryLabel(merchant.industry)} · ${merchant.address}`));
  item.append(healthBadge(merchant.health_code));
  if (health && health.reasons.length && merchant.health_code !== "green") {
    item.append(element("p", "reasons-title", "原因："), reasonsList(health));
  }
  const warned = publicWarning(merchant, health);
  if (warned) item.append(warned);
  return item;
}

async function fetchPage() {
  const query = { ...filters, limit: PAGE_SIZE, cursor: cursor ?? undefined };
  if (nameSearchUnsupported) delete query.q;
  try {
    return await api.get("/merchants", query);
  } catch (error) {
    // A gateway without name search refuses the unknown `q`: list without it, and say so.
    if (error.status === 400 && query.q && error.details?.fields?.q) {
      nameSearchUnsupported = true;
      return fetchPage();
    }
    throw error;
  }
}

async function load({ append }) {
  more.disabled = true;
  list.dataset.state = "loading"; // for tests and styles: "loaded" once the page is shown
  try {
    const page = await fetchPage();
    const healths = await Promise.all(
      page.items.map((m) => (m.health_code === "yellow" || m.health_code === "red" ? healthOf(m.merchant_id) : null)),
    );
    if (!append) list.replaceChildren();
    page.items.forEach((merchant, i) => list.append(card(merchant, healths[i])));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = list.children.length > 0;
    const shown = list.children.length ? `已显示 ${list.children.length} 家商户` : "没有找到符合条件的商户";
    announce(nameSearchUnsupported && filters.q ? `${NO_NAME_SEARCH}${shown}` : shown);
  } catch (error) {
    announce(error.message);
  } finally {
    more.disabled = false;
    list.dataset.state = "loaded";
  }
}

function readFilters() {
  const q = form.elements.q.value.trim();
  const industry = form.elements.industry.value;
  return { q: q || undefined, industry: industry || undefined };
}

function init() {
  initShell();
  const select = form.elements.industry;
  for (const [value, label] of Object.entries(INDUSTRIES)) {
    const option = element("option", "", label);
    option.value = value;
    select.append(option);
  }
  // The filters live in the address, so a search can be bookmarked or shared.
  const params = new URLSearchParams(location.search);
  form.elements.q.value = params.get("q") ?? "";
  if (Object.hasOwn(INDUSTRIES, params.get("industry") ?? "")) select.value = params.get("industry");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = readFilters();
    cursor = null;
    const shown = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    history.replaceState(null, "", shown.size ? `/?${shown}` : "/");
    load({ append: false });
  });
  more.addEventListener("click", () => load({ append: true }));
  filters = readFilters();
  load({ append: false });
}

init();
