// Drives Debian's Chromium (playwright-core) against WordPress with the plugin: run by scripts/wp-e2e.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(process.env.E2E_NODE_DIR + "/package.json");
const { chromium } = require("playwright-core");
const { WP_URL, EDGE_URL, WP_DIR, WORK, SCREENSHOT } = process.env;

function check(ok, what) {
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
  // The default model's answers are the pages' own sentences (answer.mode auto: extractive), marked as such.
  check(first.mode === "extractive" && /3 to 5 working days/.test(first.answer),
    "the answer is the page's verified sentence: " + first.mode);
  await page.screenshot({ path: SCREENSHOT });
  console.log("screenshot: " + SCREENSHOT);
  await page.locator(".edgebot-thumb[data-thumbs=up]").last().click();
  await page.waitForSelector(".edgebot-rating >> text=Thanks", { timeout: 10_000 });
  check(true, "rating the answer is stored (edgebot answered 201 through WordPress)");

  const published = Date.now();
  execFileSync("php", [WORK + "/publish.php"], { env: { ...process.env, WP_DIR } });
  let synced = null;
  while (Date.now() - published < 10_000) {
    const reply = await ask(page, "How long does a lantern repair take?");
    if (reply.sources.some((s) => s.startsWith("Lantern repair service"))) { synced = reply; break; }
  }
  check(synced !== null, `a post published in WordPress is answered from within 10 s (${Date.now() - published} ms)`);
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

  await page.reload();
  await page.click(".edgebot-launcher");
  const kept = await page.evaluate(() => localStorage.getItem("edgebot.session"));
  check(kept && JSON.parse(kept).session_id.length === 32, "the session is kept across page loads");

  // The site owner's side: log in, "Test connection" on Settings > edgebot.
  await page.goto(WP_URL + "/wp-login.php");
  await page.fill("#user_login", "admin");
  await page.fill("#user_pass", "admin-password");
  await Promise.all([page.waitForNavigation(), page.click("#wp-submit")]);
  await page.goto(WP_URL + "/wp-admin/options-general.php?page=edgebot");
  await Promise.all([page.waitForNavigation(), page.click("#edgebot-test")]);
  const tested = (await page.textContent("#edgebot-test-result")) || "";
  check(tested.includes("edgebot is ready") && tested.includes("version"), "Test connection shows readiness and version: " + tested.trim());
  check((await page.inputValue("input[name='edgebot_options[secret]']")) === "", "the saved secret is never echoed back");

  // A logged-in visitor: the user travels as a signed claim, so WordPress's exporter finds the conversation.
  await page.goto(WP_URL + "/");
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.click(".edgebot-launcher");
  await ask(page, "Do you ship to Canada?");
  const exported = JSON.parse(execFileSync("php", [WORK + "/export.php"], { env: { ...process.env, WP_DIR } }).toString());
  check(exported.data.length === 1 && exported.data[0].data[1].value.includes("Do you ship to Canada?"),
    "the personal data exporter returns the logged-in user's conversation");

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
} finally {
  await browser.close();
}
