// The tab's session: the bearer token, its role and subject, kept in sessionStorage (one tab,
// gone when the tab closes). No cookie carries it, so a cross-site request sends nothing.
const KEY = "prepaid-trust.session";

export function currentSession() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return stored && typeof stored.token === "string" ? stored : null;
  } catch {
    return null;
  }
}

// A regulator's session also keeps its department (samr, commerce, ...), when the token has one.
export function saveSession({ token, role, subject, department }) {
  const kept = { token, role, subject };
  if (department) kept.department = department;
  sessionStorage.setItem(KEY, JSON.stringify(kept));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

// Where to go after logging in: a path on this site only. "//evil.example", "/\\evil",
// "https://..." and anything that resolves to another origin fall back to `fallback`.
export function safeNext(raw, fallback = "/") {
  if (typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) {
    return fallback;
  }
  try {
    const url = new URL(raw, location.origin);
    return url.origin === location.origin ? url.pathname + url.search + url.hash : fallback;
  } catch {
    return fallback;
  }
}

export function loginUrl(next = location.pathname + location.search) {
  return `/login?next=${encodeURIComponent(next)}`;
}
