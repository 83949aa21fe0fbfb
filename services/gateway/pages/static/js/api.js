// The pages' only way to the platform: the public API on this origin, /api/v1.
//   import { api, userAction } from "./api.js";
//   const items = await api.get("/merchants", { industry: "fitness" });
//   const action = userAction();            // one per user action (a click, a submit)
//   await api.post(`/cards/${id}/confirm`, body, action);  // a retry reuses `action`
// A request whose outcome was lost (network error, 5xx) keeps its key for the next identical
// request, whatever action that one passes (see UNSETTLED).
// A failure throws ApiError {status, code, message (Chinese), details}; a 401 clears the
// session and sends the user to /login?next=<this page> (unless { loginOn401: false }).
import { messageFor } from "./messages.js";
import { clearSession, currentSession, loginUrl } from "./session.js";

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// One Idempotency-Key for one user action: the same key on every retry of that action, so
// the platform does it once however often the request is sent.
export function userAction() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const key = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return Object.freeze({ idempotencyKey: `page-${key}` });
}

// Requests whose outcome the page never learnt (the network failed, or a 5xx: the platform may
// have done it before the answer was lost), by what they asked: a second click on the same
// button sends the same request again, and must carry the first try's key, or a purchase or a
// spend request would happen twice. A definite answer (2xx, or a 4xx: nothing was done)
// settles it. Kept in sessionStorage so a reload of the page does not forget it.
const UNSETTLED = "prepaid-trust.unsettled";

function unsettled() {
  try {
    return JSON.parse(sessionStorage.getItem(UNSETTLED) || "{}");
  } catch {
    return {};
  }
}

function remember(what, key) {
  const all = unsettled();
  if (key === null) delete all[what];
  else all[what] = key;
  try {
    sessionStorage.setItem(UNSETTLED, JSON.stringify(all));
  } catch {
    // Storage full or refused: the retry then gets a new key, as it did before.
  }
}

function urlOf(path, query) {
  const url = new URL(BASE + path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url.pathname + url.search;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not the contract's JSON (a proxy's page): the status alone says what happened.
  }
  const error = (body && body.error) || {};
  const code = typeof error.code === "string" ? error.code : `http_${response.status}`;
  return new ApiError(response.status, code, messageFor(code, response.status), error.details || {});
}

export async function request(method, path, { query, body, action, loginOn401 = true } = {}) {
  const headers = { Accept: "application/json" };
  const session = currentSession();
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const who = session ? `${session.role}:${session.subject}` : "anonymous";
  const what = `${who} ${method} ${urlOf(path, query)} ${body === undefined ? "" : JSON.stringify(body)}`;
  if (method !== "GET") {
    if (!action) throw new Error(`${method} ${path}: pass userAction() for its Idempotency-Key`);
    headers["Idempotency-Key"] = unsettled()[what] || action.idempotencyKey;
  }
  let response;
  try {
    response = await fetch(urlOf(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    if (method !== "GET") remember(what, headers["Idempotency-Key"]);
    throw new ApiError(0, "network_error", messageFor("network_error", 0));
  }
  if (method !== "GET") remember(what, response.status >= 500 ? headers["Idempotency-Key"] : null);
  if (response.ok) {
    return response.status === 204 ? null : response.json();
  }
  const error = await errorFrom(response);
  if (response.status === 401 && loginOn401) {
    clearSession();
    location.assign(loginUrl());
  }
  throw error;
}

// A file's raw bytes to PUT (evidence: PUT /evidence/{sha256}). A PUT of the same bytes to the
// same name is idempotent by its nature, so it takes no Idempotency-Key; errors as above.
export async function putBytes(path, bytes) {
  const session = currentSession();
  const headers = { Accept: "application/json", "Content-Type": "application/octet-stream" };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(urlOf(path), { method: "PUT", headers, body: bytes, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network_error", messageFor("network_error", 0));
  }
  if (response.ok) return response.json();
  const error = await errorFrom(response);
  if (response.status === 401) {
    clearSession();
    location.assign(loginUrl());
  }
  throw error;
}

export const api = {
  get: (path, query, options = {}) => request("GET", path, { ...options, query }),
  post: (path, body, action, options = {}) => request("POST", path, { ...options, body, action }),
};
