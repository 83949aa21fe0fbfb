// The one way the pages build an element: text goes in as textContent only, so text from the
// API is never parsed as HTML. The directory, the consumer's pages and the merchant's console
// all use it.
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
