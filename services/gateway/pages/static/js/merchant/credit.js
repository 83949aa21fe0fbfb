// A credit report's signature checked in the browser: Ed25519 over the report's canonical
// JSON (keys sorted, no spaces, text as is: services/risk/application/credit.py) with the
// platform's public key from GET /keys. True only when the key is the one that signed it and
// the signature holds.
import { api } from "../api.js";

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export async function verifyCreditReport({ report, signature }) {
  try {
    const keys = await api.get("/keys");
    const published = keys.credit_report;
    if (signature.alg !== "Ed25519" || (published.key_id && published.key_id !== signature.key_id)) return false;
    const key = await crypto.subtle.importKey("raw", fromBase64(published.public_key_b64), { name: "Ed25519" }, false, ["verify"]);
    const bytes = new TextEncoder().encode(canonical(report));
    return await crypto.subtle.verify({ name: "Ed25519" }, key, fromBase64(signature.sig), bytes);
  } catch {
    return false;
  }
}
