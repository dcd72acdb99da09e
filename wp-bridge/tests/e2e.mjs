// Drives Debian's Chromium (playwright-core) against WordPress with the plugin: run by scripts/wp-e2e.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(process.env.E2E_NODE_DIR + "/package.json");
const { chromium } = require("playwright-core");
const { WP_URL, EDGE_URL, WP_DIR, WORK, SCREENSHOTS, EDGE_PID, SECRET } = process.env;
const php = (...args) => execFileSync("php", args, { env: { ...process.env, WP_DIR } }).toString();

// E2E_KEEP_GOING=1: report every failed check and go on (to see all that an older plugin fails), exit 1 at the end
let failures = 0;
function check(ok, what) {
  if (!ok && process.env.E2E_KEEP_GOING) { failures++; console.log("not ok - " + what); return; }
  if (!ok) throw new Error("FAILED: " + what);
  console.log("ok - " + what);
}

/** Ask in the open widget; resolves with the finished answer bubble's text and its citation titles. */
async function ask(page, text) {
  const before = await page.locator(".edgebot-bot[data-state=done], .edgebot-error").count();
  await page.fill(".edgebot-input", text);
  await page.press(".edgebot-input", "Enter");
  await page.waitForFunction((n) => document.querySelectorAll(".edgebot-bot[data-state=done], .edgebot-error").length > n,
    before, { timeout: 90_000 });
  const bubble = page.locator(".edgebot-bot[data-state=done], .edgebot-error").last();
  const answer = (await bubble.textContent()) || "";
  const sources = await page.locator(".edgebot-sources").last().locator("a").allTextContents().catch(() => []);
  return { answer, sources, mode: await bubble.getAttribute("data-answer"),
    error: (await bubble.getAttribute("class")).includes("edgebot-error") };
}

/**
 * Tools > Export and Erase Personal Data in WordPress's own screens, for the requests EXPORT_ID and ERASE_ID: the
 * notices WordPress shows (text) and the erase request's status afterwards.
 */
async function privacyScreens(page, exportId, eraseId) {
  const notice = async (screen, handle) => {
    await page.goto(WP_URL + "/wp-admin/" + screen);
    await page.locator(handle).first().dispatchEvent("click");  // the row action WordPress shows on hover
    const result = page.locator("tr.request-results .notice").last();
    await result.waitFor({ timeout: 30_000 });
    return (await result.textContent()) || "";
  };
  const exported = await notice("export-personal-data.php",
    `.export-personal-data[data-request-id="${exportId}"] .export-personal-data-handle`);
  const erased = await notice("erase-personal-data.php",
    `.remove-personal-data[data-request-id="${eraseId}"] .remove-personal-data-handle`);
  return { exported, erased, status: php(WORK + "/request.php", "status", eraseId).trim() };
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.log("page error:", err.message));
  await page.goto(WP_URL + "/");
  await page.waitForSelector(".edgebot-launcher", { timeout: 30_000 });
  check(await page.locator(".edgebot-panel").isHidden(), "the widget starts closed");
  await page.click(".edgebot-launcher");
  check(await page.locator(".edgebot-panel").isVisible(), "the launcher opens the panel");
  check(await page.evaluate(() => document.activeElement?.classList.contains("edgebot-input")), "focus moves to the input");

  // Record how the answer grows, to see that it streams.
  await page.evaluate(() => {
    window.lengths = [];
    new MutationObserver(() => {
      const el = [...document.querySelectorAll(".edgebot-bot")].pop();
      if (el) window.lengths.push(el.textContent.length);
    }).observe(document.querySelector(".edgebot-log"), { childList: true, subtree: true, characterData: true });
  });
  const first = await ask(page, "How long does shipping take?");
  const lengths = await page.evaluate(() => window.lengths);
  check(!first.error && first.answer.trim().length > 0, "a question gets an answer: " + JSON.stringify(first.answer.slice(0, 80)));
  check(new Set(lengths.filter((n) => n > 0 && n < first.answer.length)).size >= 2, "the answer streamed in pieces");
  check(first.sources.some((s) => s.startsWith("Shipping")), "the answer cites the Shipping page: " + first.sources);
  const sourceLine = (await page.locator(".edgebot-sources").last().textContent()) || "";
  check(first.sources.length < 2 || sourceLine.includes(first.sources[0] + "; " + first.sources[1]),
    "the sources read as separate items: " + JSON.stringify(sourceLine));
  // The default model's answers are the pages' own sentences (answer.mode auto: extractive), marked as such.
  check(first.mode === "extractive" && /3 to 5 working days/.test(first.answer),
    "the answer is the page's verified sentence: " + first.mode);
  await page.screenshot({ path: SCREENSHOTS + "/wp-widget.png" });
  await page.setViewportSize({ width: 390, height: 760 });
  await page.screenshot({ path: SCREENSHOTS + "/wp-widget-390.png" });
  await page.setViewportSize({ width: 1280, height: 720 });
  console.log("screenshots: " + SCREENSHOTS + "/wp-widget.png, wp-widget-390.png");
  await page.locator(".edgebot-thumb[data-thumbs=up]").last().click();
  await page.waitForSelector(".edgebot-rating >> text=Thanks", { timeout: 10_000 });
  check(true, "rating the answer is stored (edgebot answered 201 through WordPress)");

  const published = Date.now();
  php(WORK + "/publish.php");
  let answeredAt = null;
  while (Date.now() - published < 10_000) {
    const reply = await ask(page, "How long does a lantern repair take?");
    if (reply.sources.some((s) => s.startsWith("Lantern repair service"))) { answeredAt = Date.now(); break; }
  }
  const took = (answeredAt ?? Date.now()) - published;
  check(answeredAt !== null && took <= 10_000, `a post published in WordPress is answered from within 10 s (${took} ms)`);
  // (WordPress titles it "Protected: ..." from then on: look for the word, not the exact title.)
  const lantern = () => JSON.parse(execFileSync(process.env.EDGEBOT_CLI, ["kb", "list", "--json"]).toString())
    .filter((d) => d.title.includes("Lantern")).length;
  const wasListed = lantern() === 1;
  execFileSync("php", [WORK + "/protect.php"], { env: { ...process.env, WP_DIR } });
  check(wasListed && lantern() === 0, "a post given a password leaves the knowledge base");
  // The site read in bulk by the CLI (plain permalinks here: the REST API answers at ?rest_route=), keyed as
  // the plugin keys its syncs: nothing twice, the protected post left out.
  const cli = (...args) => execFileSync(process.env.EDGEBOT_CLI, args).toString();
  const bulk = cli("kb", "ingest", "--wordpress", WP_URL);
  const docs = JSON.parse(cli("kb", "list", "--json")).filter((d) => d.source.startsWith("wp:"));
  const sources = docs.map((d) => d.source);
  check(/^\d+ added/.test(bulk) && docs.some((d) => d.title === "Welcome") && new Set(sources).size === sources.length
    && !docs.some((d) => d.title.includes("Lantern")),
    "edgebot kb ingest --wordpress reads the site without a second copy of what the plugin sent: " + bulk.trim());

  // A page written with a WordPress list block (read by the bulk ingest above): its answer is drawn as a list.
  const listed = await ask(page, "Which tools can members use in the Lyon workshop?");
  const items = await page.locator(".edgebot-bot[data-state=done]").last().locator("ul li").allTextContents();
  check(items.length === 4 && items[0] === "Sewing machines" && !listed.answer.includes("\u2022"),
    "a list answer (a WordPress list block) is shown as a list: " + JSON.stringify(items) + " in " + JSON.stringify(listed));

  // The site moves (a new address) and is sent again: each page is kept once, under the new address.
  const moved = php(WORK + "/moved.php").trim();
  const welcome = JSON.parse(cli("kb", "list", "--json")).filter((d) => d.title === "Welcome");
  check(moved.split("/")[0] === moved.split("/")[1] && welcome.length === 1 && welcome[0].source.includes("//localhost:"),
    "a changed site address leaves one copy of each page: " + moved + " sent, " + welcome.map((d) => d.source));

  await page.reload();
  await page.click(".edgebot-launcher");
  const kept = await page.evaluate(() => localStorage.getItem("edgebot.session"));
  check(kept && JSON.parse(kept).session_id.length === 32, "the session is kept across page loads");
  await page.waitForSelector(".edgebot-msg[data-state=restored]", { timeout: 10_000 });
  const restored = await page.locator(".edgebot-user").allTextContents();
  check(restored.includes("How long does shipping take?"), "the conversation is shown again after a page load");

  // A wrong site secret: the visitor is told the assistant is not set up (no admin text) and keeps the
  // conversation, which comes back once the secret is right again.
  php(WORK + "/secret.php", "not-the-site-secret");
  await page.reload();
  await page.click(".edgebot-launcher");
  const misconfigured = await ask(page, "Do you sell gloves?");
  const keptThen = await page.evaluate(() => localStorage.getItem("edgebot.session"));
  php(WORK + "/secret.php", SECRET);
  check(misconfigured.error && misconfigured.answer.includes("not set up correctly")
    && !/signature|secret/i.test(misconfigured.answer) && keptThen === kept,
    "with a wrong site secret the visitor is told the assistant is not set up and keeps the conversation: "
    + JSON.stringify(misconfigured.answer));
  await page.reload();
  await page.click(".edgebot-launcher");
  await page.waitForSelector(".edgebot-msg[data-state=restored]", { timeout: 10_000 });
  check((await page.locator(".edgebot-user").allTextContents()).includes("How long does shipping take?"),
    "once the secret is right again the visitor's conversation is back");

  // The site owner's side: log in, "Test connection" on Settings > edgebot.
  await page.goto(WP_URL + "/wp-login.php");
  await page.fill("#user_login", "admin");
  await page.fill("#user_pass", "admin-password");
  await Promise.all([page.waitForNavigation(), page.click("#wp-submit")]);
  await page.goto(WP_URL + "/wp-admin/options-general.php?page=edgebot");
  await Promise.all([page.waitForNavigation(), page.click("#edgebot-test")]);
  const tested = (await page.textContent("#edgebot-test-result")) || "";
  check(tested.includes("edgebot is ready") && tested.includes("version"), "Test connection shows readiness and version: " + tested.trim());
  php(WORK + "/secret.php", "not-the-site-secret");
  await Promise.all([page.waitForNavigation(), page.click("#edgebot-test")]);
  const wrong = (await page.textContent("#edgebot-test-result")) || "";
  php(WORK + "/secret.php", SECRET);
  check(wrong.includes("does not match"), "Test connection names a wrong site secret: " + wrong.trim());
  await page.fill("#edgebot_url", "http://127.0.0.1:9");  // an edit not saved yet: the test uses it
  await Promise.all([page.waitForNavigation(), page.click("#edgebot-test")]);
  const unsaved = (await page.textContent("#edgebot-test-result")) || "";
  await page.fill("#edgebot_url", EDGE_URL);
  await Promise.all([page.waitForNavigation(), page.click("#edgebot-test")]);
  const back = (await page.textContent("#edgebot-test-result")) || "";
  check(unsaved.includes("Could not reach edgebot at http://127.0.0.1:9") && back.includes("edgebot is ready"),
    "Save and test connection tests what is in the form: " + unsaved.trim());
  check((await page.inputValue("input[name='edgebot_options[secret]']")) === "", "the saved secret is never echoed back");
  const labelled = await page.evaluate(() => [...document.querySelectorAll("input[name^='edgebot_options'], select[name^='edgebot_options']")]
    .every((i) => i.id && document.querySelector(`label[for='${i.id}']`)));
  check(labelled, "every settings input is tied to its label");
  const helped = await page.evaluate(() => [...document.querySelectorAll("input[name^='edgebot_options'], select[name^='edgebot_options']")]
    .every((i) => document.getElementById(i.id + "_help")?.textContent.trim().length > 10));
  check(helped, "every setting has help text under it");
  check((await page.textContent("#edgebot_page_ids_help")).includes("separated by commas"), "the Page IDs help says the format");

  // Tools > Export / Erase Personal Data in WordPress's screens with a wrong site secret: the plugin's own
  // message, and the erase request is not marked completed.
  const exportId = php(WORK + "/request.php", "export").trim();
  const eraseId = php(WORK + "/request.php", "erase").trim();
  php(WORK + "/secret.php", "not-the-site-secret");
  const refused = await privacyScreens(page, exportId, eraseId);
  php(WORK + "/secret.php", SECRET);
  check(refused.exported.includes("could not be exported") && refused.exported.includes("site secret")
    && !refused.exported.includes("[object Object]"), "Export Personal Data names a wrong site secret: " + refused.exported.trim());
  check(refused.erased.includes("were not erased") && refused.erased.includes("site secret") && refused.status === "request-confirmed",
    "Erase Personal Data says the conversations were not erased and the request stays open: "
    + refused.erased.trim() + " / " + refused.status);

  // A logged-in visitor: the user travels as a signed claim, so WordPress's exporter finds the conversation.
  await page.goto(WP_URL + "/");
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.click(".edgebot-launcher");
  await ask(page, "Do you ship to Canada?");
  const exported = JSON.parse(php(WORK + "/export.php"));
  check(exported.data.length === 1 && exported.data[0].data[1].value.includes("Do you ship to Canada?")
    && exported.data[0].data[1].value.includes("<br />"),
    "the personal data exporter returns the logged-in user's conversation, a message a line");
  // Tools > Erase Personal Data, then the visitor writes again: a clear note, a new session, an answer.
  const erased = JSON.parse(php(WORK + "/export.php", "erase"));
  check(erased.items_removed === true, "the personal data eraser removes the conversation");
  const again = await ask(page, "How long does shipping take?");
  const note = (await page.locator(".edgebot-note").allTextContents()).join(" ");
  check(!again.error && /3 to 5 working days/.test(again.answer) && note.includes("no longer available"),
    "an erased session recovers in the widget with a clear message: " + JSON.stringify(note));

  const route = (r) => WP_URL + "/?rest_route=/edgebot/v1/" + r;
  const noNonce = await fetch(route("session"), { method: "POST" });
  check(noNonce.status === 403, "a request without a valid wp_rest nonce is refused (" + noNonce.status + ")");
  const badNonce = await fetch(route("session"), { method: "POST", headers: { "X-WP-Nonce": "0123456789" } });
  check(badNonce.status === 403, "a request with a made-up nonce is refused (" + badNonce.status + ")");
  const forged = await fetch(EDGE_URL + "/v1/sessions", { method: "POST", headers: {
    "X-Edgebot-Timestamp": String(Math.floor(Date.now() / 1000)), "X-Edgebot-Nonce": "abcdefghijklmnopqrst",
    "X-Edgebot-Signature": "0".repeat(64) } });
  check(forged.status === 401 && (await forged.json()).code === "bad_signature", "a forged signature straight to edgebot is refused");
  const unsigned = await fetch(EDGE_URL + "/v1/sessions", { method: "POST" });
  check(unsigned.status === 401, "an unsigned request straight to edgebot is refused");

  // edgebot down: the exporter fails with the reason, the visitor gets the reason and a retry with their text.
  process.kill(Number(EDGE_PID));
  for (let i = 0; i < 50; i++) {
    try { await fetch(EDGE_URL + "/healthz"); await new Promise((r) => setTimeout(r, 100)); } catch { break; }
  }
  const failed = JSON.parse(php(WORK + "/export.php"));
  check(typeof failed.error === "string" && failed.error.includes("could not be exported"),
    "with edgebot down the exporter reports an error, not an empty export: " + failed.error);
  const down = await ask(page, "Is the Ridgeline jacket waterproof?");
  const kept2 = await page.inputValue(".edgebot-input");
  check(down.error && down.answer.includes("not reachable") && kept2 === "Is the Ridgeline jacket waterproof?"
    && await page.locator(".edgebot-retry").isVisible(),
    "with edgebot down the visitor is told so, keeps the text and gets a retry: " + JSON.stringify(down.answer));
  // ... and Tools > Export / Erase Personal Data say edgebot could not be reached; the erase request stays open.
  const stopped = await privacyScreens(page, exportId, eraseId);
  check(stopped.exported.includes("could not be reached") && !stopped.exported.includes("[object Object]"),
    "with edgebot stopped Export Personal Data shows the plugin's message: " + stopped.exported.trim());
  check(stopped.erased.includes("could not be reached") && stopped.status === "request-confirmed",
    "with edgebot stopped Erase Personal Data says so and the request is not completed: " + stopped.erased.trim());
} finally {
  await browser.close();
}
if (failures) throw new Error(`FAILED: ${failures} checks`);
