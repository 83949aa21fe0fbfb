// /app/merchants/<id>: the merchant with its 预付健康码 and reasons, the public warning if
// red, its rating, its products and promotions, its published inspection results and tier; buying a product is POST /cards, then the
// bank's confirmation (already there in demo mode, else polled until the card is active).
import { api, userAction } from "../api.js";
import { CARD_STATUSES, CARD_TYPES, label } from "./labels.js";
import { markReady } from "./consumer.js";
import { button, element, idFromPath, sleep } from "./dom.js";
import { formatBalance, formatDate, formatFen, formatTenths } from "../format.js";
import { healthBadge, publicWarning, reasonsList } from "../health.js";
import { industryLabel } from "../labels.js";
import { showInspections } from "./inspections.js";
import { announce, initShell } from "../shell.js";

const merchantId = idFromPath();
const PAYMENT_WAIT_MS = 30000;
const byProduct = new Map(); // product id -> its product, for the promotions' names

function productFacts(product) {
  const facts = [`售价 ${formatFen(product.price)}`];
  if (product.type === "count") facts.push(`${product.uses} 次`);
  if (product.type === "period") facts.push(`${product.period_days} 天`);
  if (product.validity_days) facts.push(`有效期 ${product.validity_days} 天`);
  return facts.join(" · ");
}

function productItem(product) {
  const item = element("li", "product-item");
  item.dataset.productId = product.product_id;
  item.dataset.type = product.type;
  item.append(
    element("h3", "product-name", `${product.name}（${label(CARD_TYPES, product.type)}）`),
    element("p", "product-facts", productFacts(product)),
  );
  if (product.bonus > 0) {
    const bonus = product.promotion
      ? `活动赠送 ${formatFen(product.bonus)}（${product.promotion.name}，${formatDate(product.promotion.ends_at)}截止；平时赠送 ${formatFen(product.regular_bonus)}）`
      : `赠送 ${formatFen(product.bonus)}`;
    item.append(element("p", "product-bonus", bonus));
  }
  const buy = button(`购买${product.name}`, "weui-btn weui-btn_mini weui-btn_primary");
  buy.dataset.action = "buy";
  buy.addEventListener("click", () => purchase(product, buy));
  item.append(buy);
  return item;
}

async function activeCard(card) {
  const deadline = Date.now() + PAYMENT_WAIT_MS;
  let current = card;
  while (current.status === "pending_payment" && Date.now() < deadline) {
    await sleep(1000);
    current = await api.get(`/cards/${encodeURIComponent(card.card_id)}`);
  }
  return current;
}

async function purchase(product, buy) {
  const panel = document.getElementById("purchase");
  const status = document.getElementById("purchase-status");
  const open = document.getElementById("purchase-card");
  buy.disabled = true;
  panel.hidden = false;
  open.hidden = true;
  status.textContent = `正在购买${product.name}，等待存管银行确认付款…`;
  try {
    const created = await api.post("/cards", { product_id: product.product_id }, userAction());
    const card =
      created.status === "active" ? await api.get(`/cards/${encodeURIComponent(created.card_id)}`) : await activeCard(created);
    open.href = `/app/cards/${encodeURIComponent(card.card_id)}`;
    open.hidden = false;
    if (card.status === "active") {
      status.textContent = `购卡成功：${product.name}已可使用，余额 ${formatBalance(card.type, card.balance)}。`;
    } else {
      status.textContent = `银行尚未确认付款（${label(CARD_STATUSES, card.status)}），请稍后在“我的卡”中查看。`;
    }
    panel.dataset.cardStatus = card.status;
    announce(status.textContent);
  } catch (error) {
    status.textContent = `购卡未完成：${error.message}`;
    announce(status.textContent);
  } finally {
    buy.disabled = false;
  }
}

async function healthOf(merchant) {
  if (!merchant.health_code) return null;
  try {
    return await api.get(`/merchants/${encodeURIComponent(merchantId)}/health`);
  } catch {
    return null; // the badge alone is shown
  }
}

function showMerchant(merchant, health) {
  document.title = `${merchant.name} - 预付保`;
  document.getElementById("merchant-name").textContent = merchant.name;
  document.getElementById("merchant-meta").textContent = `${industryLabel(merchant.industry)} · ${merchant.address}`;
  const box = document.getElementById("merchant-health");
  box.replaceChildren(healthBadge(merchant.health_code));
  if (health && health.reasons.length && merchant.health_code !== "green") {
    box.append(element("p", "reasons-title", "原因："), reasonsList(health));
  }
  const warning = publicWarning(merchant, health);
  if (warning) box.append(warning);
  const rating = merchant.rating || { average_tenths: null, count: 0 };
  document.getElementById("merchant-rating").textContent =
    rating.count && rating.average_tenths !== null
      ? `消费者评分：${formatTenths(rating.average_tenths)} / 5（${rating.count} 条评价）`
      : "消费者评分：暂无评价";
  document.getElementById("complain-merchant").href = `/app/complaints?merchant_id=${encodeURIComponent(merchantId)}`;
}

function showProducts(products, promotions) {
  const list = document.getElementById("products");
  list.replaceChildren(...products.map(productItem));
  document.getElementById("products-empty").hidden = products.length > 0;
  for (const product of products) byProduct.set(product.product_id, product);
  const promos = document.getElementById("promotions");
  promos.replaceChildren(
    ...promotions.map((p) =>
      element(
        "li",
        "promotion-item",
        `${p.name}：${byProduct.get(p.product_id)?.name ?? "指定商品"}赠送 ${formatFen(p.bonus)}，${formatDate(p.starts_at)}至${formatDate(p.ends_at)}`,
      ),
    ),
  );
  document.getElementById("promotions-empty").hidden = promotions.length > 0;
}

async function init() {
  initShell();
  const article = document.getElementById("merchant");
  try {
    const id = encodeURIComponent(merchantId);
    const [merchant, products, promotions] = await Promise.all([
      api.get(`/merchants/${id}`),
      api.get(`/merchants/${id}/products`, { limit: 100 }),
      api.get(`/merchants/${id}/promotions`, { limit: 100 }),
    ]);
    showMerchant(merchant, await healthOf(merchant));
    showProducts(products.items, promotions.items);
    await showInspections(merchantId, merchant);
  } catch (error) {
    announce(error.message);
  } finally {
    markReady(article);
  }
}

init();
