// Money and time as the pages show them.
// Money is integer fen and stays integer: the yuan and the fen are split with BigInt
// division and remainder, so no float ever rounds an amount (2**53 - 1 fen prints exactly).

function asBigIntFen(fen) {
  if (typeof fen === "bigint") return fen;
  if (!Number.isSafeInteger(fen)) throw new TypeError(`money is integer fen, not ${fen}`);
  return BigInt(fen);
}

function grouped(digits) {
  return digits.replace(/\B(?=(\d{3})+$)/g, ",");
}

// 1234 -> "¥12.34"; 0 -> "¥0.00"; -5 -> "-¥0.05"; 123456789 -> "¥1,234,567.89".
export function formatFen(fen) {
  const value = asBigIntFen(fen);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const yuan = grouped((magnitude / 100n).toString());
  const cents = (magnitude % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}¥${yuan}.${cents}`;
}

const SHANGHAI = "Asia/Shanghai";
const dateTimeParts = new Intl.DateTimeFormat("en-US", {
  timeZone: SHANGHAI,
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

function shanghaiParts(when) {
  const date = when instanceof Date ? when : new Date(when);
  if (Number.isNaN(date.getTime())) throw new TypeError(`not a time: ${when}`);
  const parts = {};
  for (const { type, value } of dateTimeParts.formatToParts(date)) parts[type] = value;
  return parts;
}

// An instant (ISO 8601 text with its offset, or a Date) in Beijing time:
// "2026-12-01T00:05:00Z" -> "2026年12月1日 08:05".
export function formatDateTime(when) {
  const p = shanghaiParts(when);
  return `${p.year}年${p.month}月${p.day}日 ${p.hour}:${p.minute}`;
}

// The calendar day of an instant in Beijing time: "2026年12月1日".
export function formatDate(when) {
  const p = shanghaiParts(when);
  return `${p.year}年${p.month}月${p.day}日`;
}

// An amount typed in 元 -> integer fen, from the decimal text itself (never through a float):
// "12" -> 1200, "12.3" -> 1230, "0.05" -> 5, "¥1,234.50" -> 123450. Anything else (a third
// decimal, a sign, letters, an amount past 2**53 - 1 fen) -> null, for the form to refuse.
export function parseYuanToFen(text) {
  const plain = String(text ?? "").trim().replace(/^[¥￥]/, "").replace(/,(?=\d{3}(\D|$))/g, "");
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(plain);
  if (!match) return null;
  const fen = BigInt(match[1]) * 100n + BigInt((match[2] ?? "").padEnd(2, "0"));
  return fen <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(fen) : null;
}

// A platform day ("2026-12-01", a UTC day as the API names it) for a chart's axis: "12月1日".
export function formatDay(day) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new TypeError(`not a day: ${day}`);
  return `${Number(match[2])}月${Number(match[3])}日`;
}

// A card code as the counter reads it: "123456789012" -> "1234 5678 9012".
export function formatCardCode(code) {
  return String(code).replace(/(\d{4})(?=\d)/g, "$1 ");
}

// An average in tenths of a star as digits: 43 -> "4.3", 50 -> "5.0" (no float).
export function formatTenths(tenths) {
  if (!Number.isSafeInteger(tenths)) throw new TypeError(`tenths are an integer, not ${tenths}`);
  return `${Math.trunc(tenths / 10)}.${Math.abs(tenths % 10)}`;
}

// A card's balance in its own unit: 元 for stored value (fen), 次 for a count card, 天 for a
// period card. `balance` holds only its type's field (GET /cards/{id}).
export function formatBalance(type, balance) {
  if (type === "stored_value") return formatFen(balance.value);
  if (type === "count") return `${balance.uses} 次`;
  if (type === "period") return `${balance.days_left} 天`;
  return "—";
}
