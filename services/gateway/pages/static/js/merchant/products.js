// /merchant/products: the merchant's products (retired ones too) with 停售, a form for each
// of the three card types, and the promotions with their form. Amounts are typed in 元 and
// sent as integer fen; every refusal comes from the API and is shown beside its field.
import { api, userAction } from "../api.js";
import { formatDate, formatFen, parseYuanToFen } from "../format.js";
import { announce } from "../shell.js";
import { CARD_TYPES } from "./labels.js";
import { clearErrors, element, merchantPath, requireMerchant, settled, showFieldError, showFormError } from "./console.js";
import { focusFirstInvalid, showRefusal } from "./refusals.js";

const merchantId = requireMerchant();
const productTable = document.getElementById("products");
const promotionTable = document.getElementById("promotions");
const productForm = document.getElementById("product");
const promotionForm = document.getElementById("promotion");
const productSelect = document.getElementById("promotion-product");
let productNames = new Map();

function contents(product) {
  if (product.type === "stored_value") {
    const bonus = product.bonus ? `赠送${formatFen(product.bonus)}，` : "";
    return `${bonus}有效期${product.validity_days}天`;
  }
  if (product.type === "count") return `${product.uses}次，有效期${product.validity_days}天`;
  return `${product.period_days}天`;
}

function productRow(product) {
  const row = element("tr");
  row.dataset.productId = product.product_id;
  const promotion = product.promotion
    ? `${product.promotion.name}：赠送${formatFen(product.promotion.bonus)}`
    : "—";
  const status = product.retired_at ? `已停售（${formatDate(product.retired_at)}）` : "在售";
  row.append(
    element("td", "", product.name),
    element("td", "", CARD_TYPES[product.type] ?? product.type),
    element("td", "money", formatFen(product.price)),
    element("td", "", contents(product)),
    element("td", "", promotion),
    element("td", "product-status", status),
  );
  const actions = element("td");
  if (!product.retired_at) {
    const retire = element("button", "button secondary", "停售");
    retire.type = "button";
    retire.setAttribute("aria-label", `停售 ${product.name}`);
    retire.addEventListener("click", () => retireProduct(product, retire));
    actions.append(retire);
  }
  row.append(actions);
  return row;
}

async function allPages(path, query) {
  const items = [];
  let cursor;
  do {
    const page = await api.get(path, { ...query, limit: 500, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

async function loadProducts() {
  productTable.dataset.state = "loading";
  try {
    const products = await allPages(merchantPath(merchantId, "/products"), { include_retired: true });
    productNames = new Map(products.map((p) => [p.product_id, p.name]));
    productTable.tBodies[0].replaceChildren(...products.map(productRow));
    document.getElementById("products-empty").hidden = products.length > 0;
    const selected = productSelect.value;
    const options = products
      .filter((p) => !p.retired_at)
      .map((p) => {
        const option = element("option", "", `${p.name}（${CARD_TYPES[p.type] ?? p.type}）`);
        option.value = p.product_id;
        return option;
      });
    productSelect.replaceChildren(...options);
    if (selected) productSelect.value = selected;
  } catch (error) {
    announce(error.message);
  } finally {
    settled(productTable);
  }
}

async function loadPromotions() {
  promotionTable.dataset.state = "loading";
  try {
    const promotions = await allPages(merchantPath(merchantId, "/promotions"), { include_ended: true });
    promotionTable.tBodies[0].replaceChildren(
      ...promotions.map((p) => {
        const row = element("tr");
        row.append(
          element("td", "", p.name),
          element("td", "", productNames.get(p.product_id) ?? p.product_id),
          element("td", "money", formatFen(p.bonus)),
          element("td", "", formatDate(p.starts_at)),
          element("td", "", formatDate(p.ends_at)),
        );
        return row;
      }),
    );
    document.getElementById("promotions-empty").hidden = promotions.length > 0;
  } catch (error) {
    announce(error.message);
  } finally {
    settled(promotionTable);
  }
}

async function retireProduct(product, button) {
  button.disabled = true;
  try {
    await api.post(merchantPath(merchantId, `/products/${encodeURIComponent(product.product_id)}/retire`), undefined, userAction());
    announce(`已停售：${product.name}`);
    await loadProducts();
  } catch (error) {
    announce(error.message);
    button.disabled = false;
  }
}

function chosenType() {
  return productForm.elements.type.value;
}

function showFieldsOfType() {
  const type = chosenType();
  for (const field of productForm.querySelectorAll("[data-types]")) {
    field.hidden = !field.dataset.types.split(" ").includes(type);
  }
}

// The form's text -> the API's body; a field that is not a number the API could take is
// refused here, beside it, before anything is sent (a typing check, not a policy rule).
function readMoney(form, name, body, label) {
  const fen = parseYuanToFen(form.elements[name].value);
  if (fen === null) return showFieldError(form, name, `${label}请填写金额，最多两位小数。`) && false;
  body[name] = fen;
  return true;
}

function readCount(form, name, body, label) {
  const text = form.elements[name].value.trim();
  if (!/^\d{1,9}$/.test(text)) return showFieldError(form, name, `${label}请填写整数。`) && false;
  body[name] = Number(text);
  return true;
}

function productBody() {
  const type = chosenType();
  const body = { type, name: productForm.elements.name.value.trim() };
  let ok = true;
  if (!body.name) ok = showFieldError(productForm, "name", "请填写商品名称。") && false;
  ok = readMoney(productForm, "price", body, "售价") && ok;
  if (type === "stored_value") ok = readMoney(productForm, "bonus", body, "赠送金额") && ok;
  if (type === "count") ok = readCount(productForm, "uses", body, "次数") && ok;
  if (type !== "period") ok = readCount(productForm, "validity_days", body, "有效期") && ok;
  if (type === "period") ok = readCount(productForm, "period_days", body, "期限") && ok;
  return ok ? body : null;
}

async function createProduct(event) {
  event.preventDefault();
  clearErrors(productForm);
  const body = productBody();
  if (!body) {
    showFormError(productForm, "请按各栏目旁的说明修改。");
    focusFirstInvalid(productForm);
    return;
  }
  const button = productForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const created = await api.post(merchantPath(merchantId, "/products"), body, userAction());
    productForm.elements.name.value = "";
    announce(`已创建商品：${created.name}`);
    await loadProducts();
  } catch (error) {
    showRefusal(productForm, error, { codeFields: { invalid_type: "type" } });
  } finally {
    button.disabled = false;
  }
}

// A day picked in the form is a Beijing calendar day: it starts at 00:00 +08:00, and the
// end day is included (the promotion ends at the next day's 00:00).
function dayAfter(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

function promotionBody() {
  const form = promotionForm;
  const body = { product_id: form.elements.product_id.value, name: form.elements.name.value.trim() };
  let ok = true;
  if (!body.product_id) ok = showFieldError(form, "product_id", "请先创建一个储值卡商品。") && false;
  if (!body.name) ok = showFieldError(form, "name", "请填写优惠名称。") && false;
  ok = readMoney(form, "bonus", body, "赠送金额") && ok;
  const starts = form.elements.starts_on.value;
  const ends = form.elements.ends_on.value;
  if (!starts) ok = showFieldError(form, "starts_on", "请选择开始日期。") && false;
  if (!ends) ok = showFieldError(form, "ends_on", "请选择结束日期。") && false;
  if (starts && ends) {
    body.starts_at = `${starts}T00:00:00+08:00`;
    body.ends_at = `${dayAfter(ends)}T00:00:00+08:00`;
  }
  return ok ? body : null;
}

async function createPromotion(event) {
  event.preventDefault();
  clearErrors(promotionForm);
  const body = promotionBody();
  if (!body) {
    showFormError(promotionForm, "请按各栏目旁的说明修改。");
    focusFirstInvalid(promotionForm);
    return;
  }
  const button = promotionForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const created = await api.post(merchantPath(merchantId, "/promotions"), body, userAction());
    promotionForm.elements.name.value = "";
    announce(`已创建优惠：${created.name}`);
    await Promise.all([loadPromotions(), loadProducts()]);
  } catch (error) {
    showRefusal(promotionForm, error, {
      aliases: { starts_at: "starts_on", ends_at: "ends_on" },
      codeFields: {
        promotion_not_applicable: "product_id",
        promotion_overlaps: "starts_on",
        invalid_promotion: "ends_on",
      },
    });
  } finally {
    button.disabled = false;
  }
}

function today() {
  // The Beijing calendar day, as the date inputs read it.
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

if (merchantId) {
  for (const radio of productForm.elements.type) radio.addEventListener("change", showFieldsOfType);
  showFieldsOfType();
  productForm.addEventListener("submit", createProduct);
  promotionForm.addEventListener("submit", createPromotion);
  promotionForm.elements.starts_on.value = today();
  loadProducts().then(loadPromotions);
}
