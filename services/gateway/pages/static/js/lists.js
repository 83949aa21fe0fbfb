// The public 红黑榜 `/lists`: the black list (defaulted, 失信) and the red list (red code,
// delisted), each merchant with its reason in the API's own Chinese words and the date it was
// listed; each list paged by its own next_cursor.
import { api } from "./api.js";
import { element } from "./dom.js";
import { formatDate } from "./format.js";
import { announce, initShell } from "./shell.js";

const PAGE_SIZE = 20;
const NAMES = { red: "红榜", black: "黑榜" };
const cursors = { red: null, black: null };

function entry(item) {
  const node = element("li", "merchant-card");
  node.dataset.merchantId = item.merchant_id;
  const title = element("h3", "merchant-name");
  const link = element("a", "", item.name || "（名称待更新）");
  link.href = `/app/merchants/${encodeURIComponent(item.merchant_id)}`;
  title.append(link);
  node.append(
    title,
    element("p", "list-reason", item.reason),
    element("p", "merchant-meta", `${formatDate(item.since)}列入`),
  );
  return node;
}

function show(which, items, nextCursor, append) {
  const list = document.getElementById(which);
  if (!append) list.replaceChildren();
  items.forEach((item) => list.append(entry(item)));
  cursors[which] = nextCursor;
  document.getElementById(`${which}-more`).hidden = !nextCursor;
  document.getElementById(`${which}-empty`).hidden = list.children.length > 0;
}

function loading(state) {
  for (const which of Object.keys(NAMES)) document.getElementById(which).dataset.state = state;
}

async function loadBoth() {
  loading("loading"); // for tests and styles: "loaded" once both lists are shown
  try {
    const lists = await api.get("/lists/red-black", { limit: PAGE_SIZE });
    show("black", lists.black, lists.next_cursor.black, false);
    show("red", lists.red, lists.next_cursor.red, false);
    announce(`黑榜 ${lists.black.length} 家，红榜 ${lists.red.length} 家`);
  } catch (error) {
    announce(error.message);
  } finally {
    loading("loaded");
  }
}

async function loadMore(which) {
  const button = document.getElementById(`${which}-more`);
  button.disabled = true;
  document.getElementById(which).dataset.state = "loading";
  try {
    const page = await api.get("/lists/red-black", { list: which, cursor: cursors[which], limit: PAGE_SIZE });
    show(which, page[which], page.next_cursor[which], true);
    announce(`${NAMES[which]}已显示 ${document.getElementById(which).children.length} 家`);
  } catch (error) {
    announce(error.message);
  } finally {
    button.disabled = false;
    document.getElementById(which).dataset.state = "loaded";
  }
}

initShell();
for (const which of Object.keys(NAMES)) {
  document.getElementById(`${which}-more`).addEventListener("click", () => loadMore(which));
}
loadBoth();
