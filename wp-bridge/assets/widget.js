// The edgebot chat widget: a plain ES module, no build step, no jQuery. Model output is set with
// textContent (never as HTML); only http(s) citation URLs become links.

/**
 * @typedef {{api: string, nonce: string, title: string, greeting: string, accent: string, position: string,
 *   i18n: Record<string, string>}} Config
 * @typedef {{session_id: string, token: string}} SessionInfo
 * @typedef {{title: string, url: string|null, heading: string}} Citation
 */

/** @type {Config} */
const config = /** @type {any} */ (window).edgebotConfig;
const STORE = "edgebot.session";
const t = (/** @type {string} */ key) => config.i18n[key] || key;

/** @param {string} tag @param {string} [cls] @param {string} [text] @returns {HTMLElement} */
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const BULLET = "\u2022 ";  // a reply's list item: one line each (edgebot's answer composer)

/**
 * Show a reply's TEXT in NODE: runs of lines that start with BULLET as a list, other lines as lines of text;
 * everything through textContent, never as HTML.
 * @param {HTMLElement} node @param {string} text
 */
function render(node, text) {
  node.textContent = "";
  /** @type {HTMLElement|null} */
  let list = null;
  for (const line of text.split("\n")) {
    if (line.startsWith(BULLET)) {
      if (!list) node.append((list = el("ul", "edgebot-list")));
      list.append(el("li", undefined, line.slice(BULLET.length)));
    } else if (line.trim()) {
      list = null;
      node.append(el("span", "edgebot-line", line));
    }
  }
}

/** A route under edgebot/v1 (plain permalinks put the route in `?rest_route=`). @param {string} path */
function routeUrl(path) {
  const [route, query] = path.split("?");
  return config.api + route + (query ? (config.api.includes("?") ? "&" : "?") + query : "");
}

/** @param {string} path @param {RequestInit} [init] */
function call(path, init = {}) {
  return fetch(routeUrl(path), {
    ...init,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-WP-Nonce": config.nonce, ...(init.headers || {}) },
  });
}

/** @param {boolean} [fresh] @returns {Promise<SessionInfo>} */
async function session(fresh = false) {
  const saved = localStorage.getItem(STORE);
  if (saved && !fresh) return JSON.parse(saved);
  const res = await call("session", { method: "POST", body: "{}" });
  if (!res.ok) throw new Error(await problem(res));
  const info = await res.json();
  localStorage.setItem(STORE, JSON.stringify({ session_id: info.session_id, token: info.token }));
  return info;
}

/** What an error response says (edgebot's `detail`, WordPress's `message`), or a generic line. @param {Response} res */
async function problem(res) {
  try {
    const body = await res.json();
    return String(body.detail || body.message || t("error"));
  } catch {
    return t("error");
  }
}

/** Server-Sent Events of a fetch response. @param {Response} res */
async function* events(res) {
  const reader = /** @type {ReadableStreamDefaultReader<Uint8Array>} */ (res.body?.getReader());
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      let event = "message", data = "";
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
      }
      if (data) yield { event, payload: JSON.parse(data) };
    }
  }
}

/** One chat panel (floating or inline). @param {HTMLElement} root @param {boolean} inline */
function mount(root, inline) {
  root.style.setProperty("--edgebot-accent", config.accent);
  const panel = el("section", "edgebot-panel");
  panel.setAttribute("aria-label", config.title);
  const header = el("header", "edgebot-header");
  header.append(el("h2", "edgebot-title", config.title));
  const log = el("div", "edgebot-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  const form = /** @type {HTMLFormElement} */ (el("form", "edgebot-form"));
  const input = /** @type {HTMLInputElement} */ (el("input", "edgebot-input"));
  input.setAttribute("aria-label", t("input"));
  input.placeholder = t("input");
  input.autocomplete = "off";
  input.maxLength = 2000;
  const send = el("button", "edgebot-send", t("send"));
  send.setAttribute("type", "submit");
  form.append(input, send);
  panel.append(header, log, form);
  log.append(el("p", "edgebot-msg edgebot-bot", config.greeting));
  let polling = 0;
  let seen = 0;
  restore();

  if (!inline) {
    const launcher = el("button", "edgebot-launcher");
    // A fixed icon (no emoji: WordPress's emoji script would swap in images from the internet).
    launcher.innerHTML = '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" fill="currentColor">' +
      '<path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
    launcher.setAttribute("aria-label", t("open"));
    launcher.setAttribute("aria-expanded", "false");
    const close = el("button", "edgebot-close", "×");
    close.setAttribute("aria-label", t("close"));
    header.append(close);
    panel.hidden = true;
    const toggle = (/** @type {boolean} */ open) => {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      (open ? input : launcher).focus();
    };
    launcher.addEventListener("click", () => toggle(panel.hidden));
    close.addEventListener("click", () => toggle(false));
    panel.addEventListener("keydown", (e) => { if (e.key === "Escape") toggle(false); });
    root.append(launcher);
  }
  root.append(panel);

  /** @param {Citation[]} citations */
  function sources(citations) {
    const box = el("p", "edgebot-sources", t("sources") + " ");
    citations.forEach((c, n) => {
      if (n) box.append("; ");  // read as separate sources, on screen and by a screen reader
      const label = c.heading ? c.title + " › " + c.heading.split(" > ").pop() : c.title;
      if (c.url && /^https?:\/\//.test(c.url)) {
        const a = /** @type {HTMLAnchorElement} */ (el("a", "", label));
        a.href = c.url; a.rel = "noopener"; a.target = "_blank";
        box.append(a);
      } else box.append(el("span", "", label));
    });
    return box;
  }

  /** @param {string[]} options */
  function quick(options) {
    const box = el("div", "edgebot-quick");
    for (const text of options) {
      const b = el("button", "edgebot-chip", text);
      b.setAttribute("type", "button");
      // The chips go away; focus returns to the input, not to the page body.
      b.addEventListener("click", () => { box.remove(); input.focus(); ask(text); });
      box.append(b);
    }
    return box;
  }

  function rating() {
    const box = el("div", "edgebot-rating");
    box.append(el("span", "", t("helpful") + " "));
    for (const [thumbs, label] of [["up", t("yes")], ["down", t("no")]]) {
      const b = el("button", "edgebot-thumb", label);
      b.setAttribute("type", "button");
      b.dataset.thumbs = thumbs;
      b.addEventListener("click", async () => {
        const info = await session();
        const res = await call("feedback", { method: "POST", body: JSON.stringify({ ...info, thumbs }) });
        box.replaceChildren(el("span", "", res.ok ? t("thanks") : t("error")));
      });
      box.append(b);
    }
    return box;
  }

  /** After a handoff: poll the session for a person's replies. */
  function follow() {
    if (polling) return;
    polling = window.setInterval(async () => {
      const info = await session();
      const res = await call("state?" + new URLSearchParams(info), { method: "GET" });
      if (!res.ok) return;
      const state = await res.json();
      const agent = state.messages.filter((/** @type {any} */ m) => m.finish_reason === "agent");
      for (const m of agent.slice(seen)) log.append(el("p", "edgebot-msg edgebot-agent", m.content));
      seen = agent.length;
    }, 4000);
  }

  /**
   * Whether edgebot no longer has this session (erased, purged, its token refused). A misconfigured assistant
   * (a 503 from WordPress) is not that: the visitor's conversation is kept for when it works again.
   * @param {Response} res
   */
  async function gone(res) {
    if (res.status !== 401 && res.status !== 404) return false;
    const body = await res.clone().json().catch(() => ({}));
    return body.code === "session_not_found" || body.code === "bad_token";
  }

  /** The conversation so far, shown again after a page load; a session edgebot no longer has is dropped. */
  async function restore() {
    const saved = localStorage.getItem(STORE);
    if (!saved) return;
    const res = await call("state?" + new URLSearchParams(JSON.parse(saved)), { method: "GET" }).catch(() => null);
    if (res && await gone(res)) { localStorage.removeItem(STORE); return; }
    if (!res || !res.ok) return;
    const state = await res.json();
    for (const m of state.messages || []) {
      const cls = m.role === "user" ? "edgebot-user" : m.finish_reason === "agent" ? "edgebot-agent" : "edgebot-bot";
      const p = el("div", "edgebot-msg " + cls);
      render(p, m.content);
      p.dataset.state = "restored";
      log.append(p);
    }
    seen = (state.messages || []).filter((/** @type {any} */ m) => m.finish_reason === "agent").length;
    log.scrollTop = log.scrollHeight;
  }

  /** @param {string} text */
  async function ask(text) {
    log.append(el("p", "edgebot-msg edgebot-user", text));
    const out = el("div", "edgebot-msg edgebot-bot edgebot-typing");
    out.setAttribute("aria-label", t("typing"));
    out.dataset.state = "streaming";
    log.append(out);
    log.scrollTop = log.scrollHeight;
    send.toggleAttribute("disabled", true);
    try {
      let info = await session();
      let res = await call("message", { method: "POST", body: JSON.stringify({ ...info, text }) });
      if (await gone(res)) {
        // The session was erased, purged or its token refused: say so, start a new one, send again.
        out.before(el("p", "edgebot-note", t("ended")));
        info = await session(true);
        res = await call("message", { method: "POST", body: JSON.stringify({ ...info, text }) });
      }
      if (!res.ok) throw new Error(await problem(res));
      /** @type {Citation[]} */
      let citations = [];
      for await (const { event, payload } of events(res)) {
        if (event === "citations") citations = payload;
        else if (event === "token") { out.textContent += payload.text; log.scrollTop = log.scrollHeight; }
        else if (event === "error") throw new Error(payload.detail);
        else if (event === "done") {
          out.classList.remove("edgebot-typing");
          out.removeAttribute("aria-label");
          out.dataset.state = "done";
          if (payload.decision === "relay") { out.remove(); continue; }
          render(out, payload.text);  // a list answer as a list
          const after = [];
          if (payload.answer_mode) out.dataset.answer = payload.answer_mode;  // extractive, generative or fallback
          if (citations.length) after.push(sources(citations));
          if (payload.quick_replies && payload.quick_replies.length) after.push(quick(payload.quick_replies));
          if (payload.handoff_id) { after.push(el("p", "edgebot-note", t("handoff"))); follow(); }
          else if (!payload.quick_replies || !payload.quick_replies.length) after.push(rating());
          out.after(...after);
        }
      }
    } catch (err) {
      // Say what happened, keep what the visitor typed, and offer to send it again.
      out.className = "edgebot-msg edgebot-error";
      out.textContent = err instanceof Error && !(err instanceof TypeError) && err.message ? err.message : t("error");
      out.dataset.state = "error";
      if (!input.value) input.value = text;
      const retry = el("button", "edgebot-retry", t("retry"));
      retry.setAttribute("type", "button");
      retry.addEventListener("click", () => {
        retry.remove();
        if (input.value === text) input.value = "";
        ask(text);
      });
      out.after(retry);
    } finally {
      out.classList.remove("edgebot-typing");
      send.toggleAttribute("disabled", false);
      log.scrollTop = log.scrollHeight;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    ask(text);
  });
}

for (const node of document.querySelectorAll("[data-edgebot-inline]")) mount(/** @type {HTMLElement} */ (node), true);
if (!document.querySelector("[data-edgebot-inline]")) {
  const root = el("div", "edgebot-root edgebot-" + (config.position === "left" ? "left" : "right"));
  document.body.append(root);
  mount(root, false);
}
