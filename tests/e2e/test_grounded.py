"""Grounded answers over real HTTP: citations in JSON and SSE replies, the "I don't know" path, and the
knowledge-base API behind its key. The server's knowledge base holds the demo shop's pages."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Server, cli_env

KEY = "test-kb-key"


@pytest.fixture(scope="module")
def kb_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("kb-server")
    subprocess.run([sys.executable, "-m", "edgebot", "kb", "ingest", "--demo"], env=cli_env(data, models_dir),
                   check=True, capture_output=True)
    srv = Server(data, models_dir, llm_max_tokens="48", llm_temperature="0", kb_api_key=KEY,
                 server_max_body_bytes=str(2**20))
    yield srv
    srv.stop()


def test_json_reply_cites_its_sources(kb_server: Server) -> None:
    sid, auth = kb_server.session()
    reply = httpx.post(f"{kb_server.url}/v1/sessions/{sid}/messages", json={"text": "How do I reset my password?"},
                       headers=auth, timeout=60).json()
    assert reply["citations"][0] == {"title": "Account and password",
                                     "url": "https://northwind-outfitters.example/help/account",
                                     "heading": "Account and password > Resetting your password"}
    assert reply["handoff_offered"] is False and reply["text"]
    stored = httpx.get(f"{kb_server.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    assert stored[-1]["citations"] == reply["citations"]


def test_sse_reply_sends_a_citations_event(kb_server: Server) -> None:
    sid, auth = kb_server.session()
    events = []
    with httpx.stream("POST", f"{kb_server.url}/v1/sessions/{sid}/messages", timeout=60,
                      json={"text": "How long does standard delivery take?"},
                      headers=auth | {"Accept": "text/event-stream"}) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    assert events[0][0] == "citations" and events[0][1][0]["title"] == "Shipping"
    assert events[-1][0] == "done" and events[-1][1]["citations"] == events[0][1]


def test_nothing_relevant_means_i_dont_know_and_the_sites_contact_details(kb_server: Server) -> None:
    """Without a catalog nobody can take a handoff: no offer of a person; what the pages cover and the pages'
    contact details instead."""
    sid, auth = kb_server.session()
    reply = httpx.post(f"{kb_server.url}/v1/sessions/{sid}/messages", headers=auth, timeout=60,
                       json={"text": "What is the airspeed velocity of an unladen swallow?"}).json()
    assert reply["finish_reason"] == "no_answer" and reply["handoff_offered"] is False
    assert reply["citations"] == [] and reply["usage"]["completion_tokens"] == 0  # the model was not asked
    assert "don't know" in reply["text"] and "+49 30 1234 5678" in reply["text"] and "person" not in reply["text"]
    assert "I can help with questions about " in reply["text"]  # the largest pages' titles: what the site covers


def test_kb_api_add_search_delete_behind_the_key(kb_server: Server) -> None:
    url = f"{kb_server.url}/v1/kb"
    assert httpx.get(f"{url}/search", params={"q": "x"}).json()["code"] == "missing_api_key"
    assert httpx.get(f"{url}/search", params={"q": "x"}, headers={"X-API-Key": "nope"}).json()["code"] == "bad_api_key"
    key = {"X-API-Key": KEY}
    doc = {"title": "Bike rental", "text": "# Bike rental\n\nWe rent e-bikes for 35 EUR per day from the Berlin store.",
           "url": "https://northwind-outfitters.example/bikes"}
    added = httpx.post(f"{url}/documents", json=doc, headers=key)
    assert added.status_code == 201 and added.json()["status"] == "added" and added.json()["chunks"] == 1
    assert httpx.post(f"{url}/documents", json=doc, headers=key).json()["status"] == "unchanged"
    hits = httpx.get(f"{url}/search", params={"q": "can I rent an e-bike?"}, headers=key).json()
    assert hits[0]["title"] == "Bike rental"
    assert httpx.delete(f"{url}/documents/{added.json()['id']}", headers=key).status_code == 204
    assert httpx.delete(f"{url}/documents/{added.json()['id']}", headers=key).json()["code"] == "document_not_found"
    hits = httpx.get(f"{url}/search", params={"q": "can I rent an e-bike?"}, headers=key).json()
    assert all(h["title"] != "Bike rental" for h in hits)
    bad = httpx.post(f"{url}/documents", json={"title": "", "text": " "}, headers=key)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_body"  # the schema asks for non-blank text


def test_a_long_document_is_embedded_off_the_event_loop(kb_server: Server) -> None:
    """While a long page is embedded (seconds), the server keeps answering: a health check sent during the
    upload comes back before it."""
    body = "\n\n".join(f"## Section {i}\n\n" + " ".join(f"Lanterns item {i}.{j} ships from Lyon." for j in range(14))
                       for i in range(400))
    done: dict[str, float] = {}
    stored: list[httpx.Response] = []

    def upload() -> None:
        stored.append(httpx.post(f"{kb_server.url}/v1/kb/documents", json={"title": "Catalogue", "text": body},
                                 headers={"X-API-Key": KEY}, timeout=300))
        done["upload"] = time.perf_counter()

    thread = threading.Thread(target=upload)
    thread.start()
    time.sleep(0.5)  # the upload is being embedded now (400 chunks take several seconds on 2 cores)
    assert httpx.get(f"{kb_server.url}/healthz", timeout=300).status_code == 200
    done["health"] = time.perf_counter()
    thread.join()
    assert stored[0].status_code == 201 and stored[0].json()["chunks"] == 400
    assert done["health"] < done["upload"]
    doc_id = stored[0].json()["id"]
    assert httpx.delete(f"{kb_server.url}/v1/kb/documents/{doc_id}", headers={"X-API-Key": KEY}).status_code == 204


def test_answers_quote_the_pages_short_with_their_sources(kb_server: Server) -> None:
    """With the default model (auto: extractive), the answer states the page's fact in its own words."""
    sid, auth = kb_server.session()
    reply = httpx.post(f"{kb_server.url}/v1/sessions/{sid}/messages", headers=auth, timeout=60,
                       json={"text": "how many days does express take?"}).json()
    assert reply["answer_mode"] == "extractive" and reply["finish_reason"] == "stop"
    assert "1 to 2 working days" in reply["text"] and len(reply["text"].split()) <= 60
    assert reply["citations"][0]["title"] == "Shipping" and reply["usage"]["completion_tokens"] == 0


def test_a_follow_up_is_answered_with_the_previous_questions_subject(kb_server: Server) -> None:
    """"how long does that take?" alone names no subject (searched alone, it finds the delivery times); after a
    question about deleting an account it is searched with it (dialogue/context.py). A self-contained question in
    the same session is searched alone."""
    sid, auth = kb_server.session()

    def ask(text: str) -> dict:
        return httpx.post(f"{kb_server.url}/v1/sessions/{sid}/messages", headers=auth, timeout=60,
                          json={"text": text}).json()
    assert "privacy@" in ask("how do I delete my account?")["text"]
    follow = ask("how long does that take?")
    assert "30 days" in follow["text"] and follow["citations"][0]["title"] == "Account and password"
    alone = ask("how do I reset my password?")
    assert "Forgot password" in alone["text"] and alone["citations"][0]["title"] == "Account and password"


def asked_in_the_demo_page(browser, server: Server, text: str, screenshot: Path):
    """A new page of the demo at SERVER, TEXT asked and answered (a screenshot of the answer in SCREENSHOT)."""
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.wait_for_selector(".msg.assistant[data-state=done]", timeout=60_000)
    page.screenshot(path=str(screenshot))
    return page


def test_the_demo_page_shows_the_checked_answer_with_its_sources(browser, kb_server: Server, tmp_path: Path) -> None:
    page = asked_in_the_demo_page(browser, kb_server, "How long does standard delivery take?", tmp_path / "answer.png")
    assert "3 to 5 working days" in (page.text_content(".msg.assistant") or "")
    assert page.get_attribute(".msg.assistant", "data-answer") == "extractive"
    assert (page.text_content(".meta") or "").startswith("quoted from the pages")
    assert (page.locator(".sources a").first.text_content() or "").startswith("Shipping")
    page.close()


def test_the_demo_page_shows_a_list_answer_as_a_list(browser, kb_server: Server, tmp_path: Path) -> None:
    """A reply that is a list comes as plain lines ("\u2022 item": no markup reaches the visitor); the demo page
    draws them as a list."""
    key = {"X-API-Key": KEY}
    doc = {"title": "Workshop tools", "url": "https://northwind-outfitters.example/workshop",
           "text": "# Workshop tools\n\nMembers can use these tools in our Lyon workshop:\n\n- Sewing machines\n"
                   "- Seam sealing press\n- Zip repair kits\n- Pressing iron\n\nBook a slot at the counter."}
    added = httpx.post(f"{kb_server.url}/v1/kb/documents", json=doc, headers=key).json()
    try:
        page = asked_in_the_demo_page(browser, kb_server, "Which tools can members use in the Lyon workshop?",
                                      tmp_path / "list.png")
        items = page.locator(".msg.assistant ul li").all_text_contents()
        assert items == ["Sewing machines", "Seam sealing press", "Zip repair kits", "Pressing iron"]
        assert "\u2022" not in (page.text_content(".msg.assistant") or "") and "- " not in items[0]
        page.close()
    finally:
        httpx.delete(f"{kb_server.url}/v1/kb/documents/{added['id']}", headers=key)
