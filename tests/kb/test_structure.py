"""Pages read by their structure (kb/structure.py): list items with their parents and headings, table rows with
their headers, FAQ pairs, definitions; chunks that never cut a unit; clean text (no markup); broken markup read
with a warning, nothing lost."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgebot.kb.chunking import chunk_blocks, chunk_markdown
from edgebot.kb.ingest import parse_file, structure
from edgebot.kb.structure import html_blocks, markdown_blocks

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "real-sites"
MARKUP = re.compile(r"\*\*|__|^#{1,6} |^\s*[-*+] |\]\(|\|\s*---|^\s*\|", re.MULTILINE)


def units(page) -> list[tuple[str, str, str]]:
    return [(b.kind, b.heading, b.text) for b in page.blocks]


def test_a_price_list_under_headings_is_read_item_by_item() -> None:
    page = markdown_blocks("# Tickets\n\n### Member tickets\n\n- Weekend only - **€80** incl. VAT\n"
                           "- Full week\n  - Adults: €200\n  - Children: €100\n")
    assert units(page) == [
        ("item", "Tickets > Member tickets", "Weekend only - €80 incl. VAT"),
        ("item", "Tickets > Member tickets", "Full week"),
        ("item", "Tickets > Member tickets", "Full week: Adults: €200"),
        ("item", "Tickets > Member tickets", "Full week: Children: €100"),
    ]


def test_links_to_other_pages_of_the_site_are_navigation_not_evidence() -> None:
    page = markdown_blocks("# Locked?\n\nWait 10 minutes.\n\n## Related articles\n\n"
                           "* [How do I delete my account?](/help/delete/)\n* [Why is my account deactivated?](../deactivated)\n"
                           "* Write to [us](mailto:help@example.org) any time\n* [Our Slack](https://slack.example.org)\n")
    assert [b.text for b in page.blocks] == ["Wait 10 minutes.", "Write to us (help@example.org) any time", "Our Slack"]


def test_an_email_or_phone_link_keeps_its_address() -> None:
    page = html_blocks('<p>Please <a href="mailto:info@leighhack.org?subject=Hi">contact us</a> or call '
                       '<a href="tel:+441234567">our desk</a>; mail <a href="mailto:a@b.org">a@b.org</a>.</p>')
    assert page.blocks[0].text == ("Please contact us (info@leighhack.org) or call our desk (+441234567); "
                                   "mail a@b.org.")


def test_markdown_tables_are_read_row_by_row_with_their_headers() -> None:
    page = markdown_blocks("## Prices\n\n| Option | Price | For |\n|---|---|---|\n| Short | £21 | one day |\n"
                           "|  | £25 | two days |\n| Long | **£31** | [a week](https://x.example) |\n")
    assert [b.text for b in page.blocks] == ["Option: Short; Price: £21; For: one day",
                                             "Option: Short; Price: £25; For: two days",  # continuation row
                                             "Option: Long; Price: £31; For: a week"]
    assert {b.kind for b in page.blocks} == {"row"} and not page.warnings


def test_faq_details_definitions_and_code() -> None:
    page = html_blocks("<h1>Help</h1><h2>Is parking free?</h2><p>Yes, for members.</p>"
                       "<details><summary>Can I bring a dog?</summary><p>Only guide dogs.</p></details>"
                       "<dl><dt>Day pass</dt><dd>£20 for one day</dd></dl><pre>Unit 1\nLeigh</pre>")
    assert units(page) == [
        ("paragraph", "Help > Is parking free?", "Yes, for members."),
        ("paragraph", "Help > Can I bring a dog?", "Only guide dogs."),
        ("term", "Help > Is parking free?", "Day pass: £20 for one day"),  # after the FAQ entry, under it
        ("code", "Help > Is parking free?", "Unit 1, Leigh"),
    ]


def test_a_wordpress_block_export_reads_as_clean_units() -> None:
    markup = ('<!-- wp:heading --><h2 class="wp-block-heading">Opening hours</h2><!-- /wp:heading -->'
              '<figure class="wp-block-table"><table><thead><tr><th>Day</th><th>Hours</th></tr></thead><tbody>'
              '<tr><td>Monday</td><td>9:00 – 17:00</td></tr><tr><td>Sunday</td><td><em>closed</em></td></tr>'
              '</tbody><tfoot><tr><td>Holidays</td><td>see notice</td></tr></tfoot></table>'
              '<figcaption class="wp-element-caption">Summer 2026</figcaption></figure>'
              '<!-- wp:list --><ul class="wp-block-list"><li>Bring <strong>ID</strong></li><li>Arrive early<ul>'
              '<li>10 minutes</li></ul></li></ul><!-- /wp:list --><div class="wp-block-buttons"><a href="/x">Book</a>'
              '</div><script>alert(1)</script>')
    page = html_blocks(markup)
    assert units(page) == [
        ("row", "Opening hours", "Day: Monday; Hours: 9:00 – 17:00"),
        ("row", "Opening hours", "Day: Sunday; Hours: closed"),
        ("row", "Opening hours", "Day: Holidays; Hours: see notice"),
        ("paragraph", "Opening hours", "Summer 2026"),
        ("item", "Opening hours", "Bring ID"),
        ("item", "Opening hours", "Arrive early"),
        ("item", "Opening hours", "Arrive early: 10 minutes"),
        ("paragraph", "Opening hours", "Book"),
    ]


@pytest.mark.parametrize("markup, warning, kept", [
    ("<h2>Prices<p>Adults pay <b>£5<p>Children pay £2<ul><li>Under 3s free", "unclosed tags",
     ["Adults pay £5", "Children pay £2", "Under 3s free"]),
    (("<table><tr><th>Size</th><th>Price</th></tr><tr><td>S</td></tr><tr><td>L</td><td>£31</td><td>+ VAT</td></tr>"
     "</table>"), "another number of cells", ["Size: S", "Size: L; Price: £31; + VAT"]),
    ("".join(f"<ul><li>level {i}" for i in range(10)), "nested 10 deep", ["level 6: level 7: level 8: level 9"]),
])
def test_broken_markup_is_read_with_a_warning_and_nothing_lost(markup: str, warning: str, kept: list[str]) -> None:
    page = html_blocks(markup)
    assert any(warning in w for w in page.warnings), page.warnings
    texts = [b.text for b in page.blocks]
    assert all(any(k in t for t in texts) for k in kept), texts


def test_a_chunk_never_cuts_a_list_item_or_a_row() -> None:
    items = "\n".join(f"- Item number {i} costs £{i}.50 and is described at some length here" for i in range(40))
    chunks = chunk_markdown(f"# Price list\n\n{items}\n", max_chars=300, overlap=60)
    assert len(chunks) > 5 and all(len(c.text) <= 300 for c in chunks)
    lines = [line for c in chunks for line in c.text.split("\n\n")]
    assert lines == [f"- Item number {i} costs £{i}.50 and is described at some length here" for i in range(40)]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/datasets/real-sites is not here")
def test_real_sites_ingest_to_clean_units_without_losing_a_page() -> None:
    from edgebot.kb.ingest import find_files

    files = [f for f in find_files([REAL]) if f.name != "README.md"]  # the dataset's README quotes markup
    assert len(files) > 200
    for f in files:
        blocks, _ = structure(parse_file(f))
        chunks = chunk_blocks(blocks, max_chars=600, overlap=100)
        for block in blocks:  # code blocks are quoted as they are
            assert block.kind == "code" or not MARKUP.search(block.text), (f.name, block.text)
        if f.stat().st_size > 400:
            assert chunks, f"{f}: no text read"
