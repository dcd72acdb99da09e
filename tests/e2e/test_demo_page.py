"""The built-in demo page in a real headless Chromium against `edgebot serve`: a question streams an answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import Server


def test_question_streams_an_answer(browser, server: Server, tmp_path) -> None:
    page = browser.new_page()
    page.goto(server.url + "/")
    # Record every length the answer bubble takes while it streams.
    page.evaluate("""() => {
        window.lengths = [];
        new MutationObserver(() => {
            const el = document.querySelector('.msg.assistant');
            if (el) window.lengths.push(el.textContent.length);
        }).observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
    }""")
    page.fill("#text", "How do I reset my password?")
    page.press("#text", "Enter")
    page.wait_for_selector(".msg.assistant[data-state=done]", timeout=60_000)
    answer = page.text_content(".msg.assistant") or ""
    lengths = page.evaluate("window.lengths")
    page.screenshot(path=str(tmp_path / "demo.png"))
    assert answer.strip() and "error" not in (page.get_attribute(".msg.assistant", "class") or "")
    assert len({n for n in lengths if 0 < n < len(answer)}) >= 2, "the answer arrived in one piece, not streamed"
    assert page.text_content(".msg.user") == "How do I reset my password?"
    assert "tokens" in (page.text_content(".meta") or "")
    # The session survives a reload of the page (kept in sessionStorage) and the next turn goes to it.
    session = page.evaluate("sessionStorage.getItem('edgebot.session')")
    page.reload()
    assert page.evaluate("sessionStorage.getItem('edgebot.session')") == session
    page.close()


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory: pytest.TempPathFactory, models_dir) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("catalog"), models_dir, llm_max_tokens="24", dialogue_catalog="demo")
    yield srv
    srv.stop()


def test_quick_replies_are_buttons_that_continue_the_conversation(browser, catalog_server: Server, tmp_path) -> None:
    page = browser.new_page()
    page.goto(catalog_server.url + "/")
    page.fill("#text", "I need help with something")
    page.press("#text", "Enter")
    page.wait_for_selector(".quick button", timeout=60_000)
    buttons = page.locator(".quick button")
    assert 1 <= buttons.count() <= 3
    labels = [buttons.nth(i).text_content() for i in range(buttons.count())]
    target = "Check an order's status" if "Check an order's status" in labels else labels[0]
    page.locator(".quick button", has_text=target).click()
    page.locator(".msg.assistant[data-state=done]").nth(1).wait_for(timeout=60_000)  # (the CSP forbids eval)
    page.screenshot(path=str(tmp_path / "quick-replies.png"))
    users = page.locator(".msg.user")
    assert users.nth(users.count() - 1).text_content() == target and page.locator(".quick").count() == 0
