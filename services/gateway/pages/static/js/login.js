// /login: in demo mode a role picker (POST /auth/dev-login); on a production platform (where
// dev-login answers 404; the page says which, #login-mode), the staff login (password and TOTP, POST /auth/staff/login) and how
// consumers log in (the mini-program's code exchange). Afterwards, back to `?next=` (a path
// on this site only).
import { api, userAction } from "./api.js";
import { saveSession, safeNext } from "./session.js";
import { announce, initShell } from "./shell.js";

// A `next` that is not a path on this site is ignored, as if there were none.
const next = safeNext(new URLSearchParams(location.search).get("next"), null);
// Without `next`, each role starts on its own pages.
const HOME = { consumer: "/app/", merchant: "/merchant/", regulator: "/regulator/", inspector: "/inspector/" };

function after(token) {
  saveSession(token);
  location.assign(next ?? HOME[token.role] ?? "/");
}

function isDemo() {
  return document.getElementById("login-mode").dataset.demo === "true";
}

async function fillMerchants(select) {
  const page = await api.get("/merchants", { limit: 100 });
  for (const merchant of page.items) {
    const option = document.createElement("option");
    option.value = merchant.merchant_id;
    option.textContent = merchant.name;
    select.append(option);
  }
  if (!page.items.length) {
    const option = document.createElement("option");
    option.value = "";
    option.textContent = "暂无商户";
    select.append(option);
  }
}

function onSubmit(form, send) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      after(await send(new FormData(form)));
    } catch (error) {
      announce(error.message);
      button.disabled = false;
    }
  });
}

// A regulator or an inspector also names its department (the form's select); the others only their subject.
function demoLogin(role) {
  return (data) => {
    const body = { role, subject: String(data.get("subject")).trim() };
    if (data.get("department")) body.department = String(data.get("department"));
    return api.post("/auth/dev-login", body, userAction(), { loginOn401: false });
  };
}

async function init() {
  initShell();
  if (isDemo()) {
    document.getElementById("demo-login").hidden = false;
    onSubmit(document.getElementById("demo-consumer"), demoLogin("consumer"));
    onSubmit(document.getElementById("demo-merchant"), demoLogin("merchant"));
    onSubmit(document.getElementById("demo-regulator"), demoLogin("regulator"));
    onSubmit(document.getElementById("demo-inspector"), demoLogin("inspector"));
    try {
      await fillMerchants(document.getElementById("merchant-id"));
    } catch (error) {
      announce(error.message);
    }
  } else {
    document.getElementById("production-login").hidden = false;
    onSubmit(document.getElementById("staff-login"), (data) =>
      api.post(
        "/auth/staff/login",
        { username: data.get("username"), password: data.get("password"), totp: data.get("totp") },
        userAction(),
        { loginOn401: false },
      ),
    );
  }
  document.body.dataset.ready = "true";
}

init();
