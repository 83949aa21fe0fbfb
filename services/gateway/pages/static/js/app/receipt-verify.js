// A ledger receipt checked in the browser with WebCrypto and nothing but GET /keys, mirroring
// ledger/ (entry.py, merkle.py, note.py) and tests/ledger/test_keys_api.py:
//   1. leaf hash = SHA-256(0x00 || entry bytes) equals the receipt's leaf_hash;
//   2. the RFC 9162 inclusion proof leads from that leaf at `index` to the signed root;
//   3. the checkpoint's note text (origin, size, base64 root) matches the receipt's size and
//      root and the log's published origin;
//   4. the note carries the log's Ed25519 signature (C2SP signed note, key type 0x01, key id
//      = first 4 bytes of SHA-256(name || "\n" || 0x01 || public key)) under the log key of
//      GET /keys;
//   5. every witness of the published quorum cosigned that same note, and any other published
//      witness's cosignature the note carries is valid (cosignature/v1, key type 0x04: its
//      line holds key id || u64 big-endian time || Ed25519 signature over
//      "cosignature/v1\ntime <t>\n" || note body). With no witness published the step says
//      it does not apply.
// verifyReceipt answers every step's outcome, so a page can say which one failed.

const encoder = new TextEncoder();

export const STEPS = Object.freeze([
  { id: "leaf", title: "记录哈希：凭证中的记录内容与账本叶子哈希一致" },
  { id: "inclusion", title: "包含证明：这条记录在账本检查点的默克尔树中" },
  { id: "note", title: "检查点内容：签名文本中的账本名称、大小和根哈希与凭证一致" },
  { id: "log_signature", title: "账本签名：检查点由平台公布的账本密钥（Ed25519）签名" },
  { id: "witnesses", title: "见证联署：存管银行和监管部门的见证节点都联署了该检查点" },
]);

function hexToBytes(hex) {
  if (typeof hex !== "string" || !/^([0-9a-f]{2})*$/.test(hex)) throw new Error("not lowercase hex");
  return Uint8Array.from(hex.match(/../g) || [], (pair) => parseInt(pair, 16));
}

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64ToBytes(text) {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function leafHash(entry) {
  return sha256(concat(Uint8Array.of(0), entry));
}

// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or null if it cannot.
export async function rootFromProof(leaf, index, size, proof) {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return null;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let digest = leaf;
  for (const sibling of proof) {
    if (sn === 0n) return null;
    if (fn & 1n || fn === sn) {
      digest = await sha256(concat(Uint8Array.of(1), sibling, digest));
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      digest = await sha256(concat(Uint8Array.of(1), digest, sibling));
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? digest : null;
}

// A C2SP verifier key "<name>+<key id hex>+base64(type || public key)", its id checked.
export async function parseVerifierKey(vkey) {
  const [name, idHex, material] = splitVkey(String(vkey));
  const raw = base64ToBytes(material);
  const id = hexToBytes(idHex);
  const expected = (await sha256(concat(encoder.encode(`${name}\n`), raw))).slice(0, 4);
  if (!equal(id, expected) || raw.length !== 33) throw new Error(`verifier key ${name} does not match its id`);
  return { name, id, type: raw[0], publicKey: raw.slice(1) };
}

function splitVkey(vkey) {
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 1 || second < 0) throw new Error("not a verifier key");
  return [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
}

// A note: its body (the text up to and including the line before the blank line) and its
// signature lines "— <name> <base64>".
export function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("a note has a body, a blank line and signatures");
  const body = note.slice(0, split + 1);
  const signatures = note
    .slice(split + 2)
    .split("\n")
    .filter((line) => line)
    .map((line) => {
      if (!line.startsWith("\u2014 ")) throw new Error("a signature line starts with an em dash");
      const [name, encoded] = line.slice(2).split(" ");
      return { name, payload: base64ToBytes(encoded) };
    });
  const [origin, size, root] = body.split("\n");
  return { body, signatures, origin, size, root };
}

async function ed25519Verify(publicKey, signature, message) {
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

// Whether one of the note's lines is `verifier`'s valid signature (0x01) or cosignature (0x04).
export async function signedBy(verifier, note) {
  for (const { name, payload } of note.signatures) {
    if (name !== verifier.name || !equal(payload.slice(0, 4), verifier.id)) continue;
    let signature;
    let message;
    if (verifier.type === 0x04) {
      if (payload.length !== 4 + 8 + 64) continue;
      const time = new DataView(payload.buffer, payload.byteOffset + 4, 8).getBigUint64(0);
      signature = payload.slice(12);
      message = encoder.encode(`cosignature/v1\ntime ${time}\n${note.body}`);
    } else if (verifier.type === 0x01) {
      signature = payload.slice(4);
      message = encoder.encode(note.body);
    } else {
      continue;
    }
    if (await ed25519Verify(verifier.publicKey, signature, message)) return true;
  }
  return false;
}

async function step(run) {
  try {
    const detail = await run();
    return { ok: true, detail };
  } catch (error) {
    return { ok: false, detail: error.message };
  }
}

function check(condition, why) {
  if (!condition) throw new Error(why);
}

// Every step's outcome {id, title, ok, detail}, and `verified` only when all passed.
export async function verifyReceipt(receipt, keys) {
  let entry = new Uint8Array();
  try {
    entry = base64ToBytes(receipt.entry);
  } catch {
    // not base64: the leaf step fails on the empty entry
  }
  const leaf = await leafHash(entry);
  let parsed = null;
  try {
    parsed = parseNote(receipt.checkpoint.note);
  } catch {
    // every step that needs the note says it could not be read
  }
  const outcomes = {
    leaf: await step(async () => {
      check(bytesToHex(leaf) === receipt.leaf_hash, "记录内容的哈希与叶子哈希不符");
      return `叶子哈希 ${receipt.leaf_hash.slice(0, 16)}…`;
    }),
    inclusion: await step(async () => {
      check(parsed, "检查点文本无法解析");
      const proof = receipt.inclusion_proof.map(hexToBytes);
      const root = await rootFromProof(leaf, receipt.index, receipt.tree_size, proof);
      check(root && equal(root, base64ToBytes(parsed.root)), "由包含证明算出的根哈希与签名的根哈希不符");
      return `第 ${receipt.index + 1} 条，共 ${receipt.tree_size} 条，证明 ${proof.length} 步`;
    }),
    note: await step(async () => {
      check(parsed, "检查点文本无法解析");
      check(parsed.origin === keys.log.origin, "账本名称与公布的不符");
      check(parsed.size === String(receipt.tree_size) && receipt.tree_size === receipt.checkpoint.size, "账本大小不符");
      check(bytesToHex(base64ToBytes(parsed.root)) === receipt.checkpoint.root_hash, "根哈希不符");
      return `${parsed.origin}，大小 ${parsed.size}`;
    }),
    log_signature: await step(async () => {
      check(parsed, "检查点文本无法解析");
      const logKey = await parseVerifierKey(keys.log.vkey);
      check(logKey.type === 0x01 && logKey.name === parsed.origin, "公布的账本密钥不是该账本的签名密钥");
      check(await signedBy(logKey, parsed), "没有有效的账本签名");
      return `密钥 ${bytesToHex(logKey.id)}`;
    }),
    witnesses: await step(async () => {
      check(parsed, "检查点文本无法解析");
      const quorum = new Set(keys.quorum || []);
      const signers = new Set(parsed.signatures.map((line) => line.name));
      const checked = [];
      for (const witness of keys.witnesses || []) {
        // A quorum witness must have cosigned; any other published witness's line, if the
        // note carries one, must be valid too.
        if (!quorum.has(witness.name) && !signers.has(witness.name)) continue;
        const verifier = await parseVerifierKey(witness.vkey);
        check(verifier.type === 0x04, `${witness.name} 不是联署密钥`);
        check(await signedBy(verifier, parsed), `缺少 ${witness.name} 的有效联署`);
        checked.push(witness.name);
      }
      return checked.length ? checked.join("、") : "平台未设见证节点，本步不适用";
    }),
  };
  const steps = STEPS.map((s) => ({ ...s, ...outcomes[s.id] }));
  return { verified: steps.every((s) => s.ok), steps, entry };
}

// The entry's canonical JSON (ledger/entry.py), for the page to show what it records.
export function decodeEntry(entry) {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(entry));
  } catch {
    return null;
  }
}
