from __future__ import annotations

import itertools

from edgebot.kb import chunk_markdown, html_to_text


def test_chunks_follow_headings_and_keep_the_path() -> None:
    text = "# Shop\nIntro line.\n\n## Returns\nReturn within 30 days.\n\n### Refunds\nRefunds take 5 days.\n\n## Shipping\nWe ship daily."
    chunks = chunk_markdown(text)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Shop", "Intro line."),
        ("Shop > Returns", "Return within 30 days."),
        ("Shop > Returns > Refunds", "Refunds take 5 days."),
        ("Shop > Shipping", "We ship daily."),
    ]


def test_comment_lines_in_code_blocks_are_not_headings() -> None:
    text = "# Install\nRun the installer.\n\n```bash\n# download first\ncurl -O https://example.org/x\n```\n\n## Use\nStart it."
    chunks = chunk_markdown(text)
    assert [c.heading for c in chunks] == ["Install", "Install > Use"]
    assert "# download first" in chunks[0].text and "curl" in chunks[0].text


def test_size_limit_and_overlap() -> None:
    sentences = " ".join(f"Sentence number {i} says something useful." for i in range(60))
    chunks = chunk_markdown(f"# Long\n{sentences}", max_chars=300, overlap=60)
    assert len(chunks) > 5 and all(len(c.text) <= 300 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        assert after.text.split()[0] in before.text  # the next chunk starts inside the previous one
    words = " ".join(c.text for c in chunks)
    assert all(f"number {i} " in words for i in range(60))  # nothing lost


def test_text_without_spaces_is_cut_not_dropped() -> None:
    """Chinese or Japanese pages have no spaces between words: every character must reach some chunk (a long
    run used to be cut to its first few hundred characters, the rest lost)."""
    zh = "".join(f"第{i}条：我们在五个工作日内发货，退货期限为三十天。" for i in range(200))
    blob = "".join(chr(0x4E00 + i % 500) for i in range(5000))  # one 5,000-character "word"
    for text in (zh, blob):
        chunks = chunk_markdown(f"# 页\n{text}", max_chars=300, overlap=60)
        assert len(chunks) > 10 and all(len(c.text) <= 301 for c in chunks)
        joined = "".join(c.text.replace(" ", "") for c in chunks)
        assert all(text[i:i + 50] in joined for i in range(0, len(text), 50))  # nothing lost
    assert chunk_markdown(f"# 页\n{zh}", max_chars=300, overlap=60)[0].text.endswith("。")  # cut at sentence ends


def test_html_to_text_keeps_headings_drops_scripts() -> None:
    text, title = html_to_text(
        "<html><head><title>Help &amp; FAQ</title><script>var x=1;</script></head><body><nav>Menu</nav>"
        "<h1>Help</h1><p>First <b>para</b>.</p><h2>Passwords</h2><ul><li>Click reset</li><li>Check mail</li></ul></body></html>")
    assert title == "Help & FAQ"
    assert "var x" not in text and "Menu" not in text
    assert "# Help" in text and "## Passwords" in text and "- Click reset" in text
    assert [c.heading for c in chunk_markdown(text)] == ["Help", "Help > Passwords"]


def test_html_table_rows_are_read_with_their_headers() -> None:
    text, _ = html_to_text("<table><tr><th>Country</th><th>Delivery</th></tr>"
                           "<tr><td>UK</td><td><b>5</b> days</td></tr><tr><td>France</td><td>3 days</td></tr></table>")
    assert text.splitlines() == ["- Country: UK; Delivery: 5 days", "", "- Country: France; Delivery: 3 days"]
