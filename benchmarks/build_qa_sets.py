"""Build question-answering retrieval sets (BEIR format) from public FAQ documents shipped by Debian.

Each FAQ section whose heading is a question becomes a query; the section's text is its one relevant
passage. Other sections (non-question headings, and for the Python set sections of the library reference,
tutorial and how-tos) fill the corpus as distractors. Nothing is written by hand, so the sets chose nothing.

    apt-get download python3.11-doc debian-faq && for f in *.deb; do dpkg-deb -x "$f" x; done
    .venv/bin/python benchmarks/build_qa_sets.py x --out benchmarks/data/retrieval

python-faq: the FAQ of Python 3.11's documentation (PSF license), up to 5,000 passages.
debian-faq: the Debian GNU/Linux FAQ 11.1 (GPL-2+), its own sections only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path

UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{3,}\s*$")
ROLE = re.compile(r":[a-z:]+:`(?:[^`<]*<)?~?([^`>]+)>?`")
LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_+")
MAX_CHARS = 2000


def plain(rst: str) -> str:
    """RST to readable text: roles and links to their text, directives and markup dropped."""
    lines = []
    for line in rst.splitlines():
        if line.lstrip().startswith(".. ") or UNDERLINE.match(line):
            continue
        lines.append(line)
    text = ROLE.sub(r"\1", "\n".join(lines))
    text = LINK.sub(r"\1", text).replace("``", "").replace("**", "")
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text).strip()
    return text[:MAX_CHARS]


def rst_sections(path: Path) -> list[tuple[str, str]]:
    """(heading, body) per section of an RST file (a heading is a line underlined by a repeated mark)."""
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    heads = [i for i in range(len(lines) - 1)
             if lines[i].strip() and UNDERLINE.match(lines[i + 1]) and len(lines[i + 1].strip()) >= len(lines[i].strip())
             and not UNDERLINE.match(lines[i])]
    out = []
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        out.append((lines[i].strip(), plain("\n".join(lines[i + 2:end]))))
    return out


def debian_sections(path: Path) -> list[tuple[str, str]]:
    """(heading, body) per numbered section of the Debian FAQ's text version (after its table of contents)."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").replace("\u00a0", " ").split("\n")
    head = re.compile(r"^\d+\.\d+(\.\d+)?\. \S")
    starts = [i for i, line in enumerate(lines) if head.match(line)]
    out = []
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        title = [lines[i]]
        j = i + 1
        while j < end and lines[j].strip() and not lines[j].startswith("    "):
            title.append(lines[j])
            j += 1
        heading = re.sub(r"^\S+ ", "", " ".join(t.strip() for t in title))
        body = re.sub(r"[ \t]+", " ", "\n".join(lines[j:end]))
        out.append((heading, re.sub(r"\n\s*\n+", "\n\n", body).strip()[:MAX_CHARS]))
    return out


def write_set(folder: Path, qa: list[tuple[str, str]], distractors: list[str], limit: int) -> None:
    qa = [(q, a) for q, a in qa if q.endswith("?") and len(a) >= 80]
    seen: set[str] = set()
    corpus, queries, qrels = [], [], []
    for n, (question, answer) in enumerate(qa):
        if question.lower() in seen:
            continue
        seen.add(question.lower())
        corpus.append({"_id": f"a{n}", "title": "", "text": answer})
        queries.append({"_id": f"q{n}", "text": question})
        qrels.append((f"q{n}", f"a{n}"))
    pool = [d for d in distractors if len(d) >= 80]
    random.Random(0).shuffle(pool)
    corpus += [{"_id": f"d{n}", "title": "", "text": d} for n, d in enumerate(pool[: max(0, limit - len(corpus))])]
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in qrels), encoding="utf-8")
    print(f"{folder}: {len(queries)} questions, {len(corpus)} passages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="where the .deb files were unpacked (dpkg-deb -x)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    docs = args.root / "usr/share/doc/python3.11/html/_sources"
    faq = [s for p in sorted((docs / "faq").glob("*.rst.txt")) for s in rst_sections(p)]
    other = [body for part in ("library", "tutorial", "howto", "reference")
             for p in sorted((docs / part).glob("*.rst.txt")) for _, body in rst_sections(p)]
    other += [a for q, a in faq if not q.endswith("?")]
    write_set(args.out / "python-faq", faq, other, 5000)
    debian = debian_sections(args.root / "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz")
    write_set(args.out / "debian-faq", debian, [a for q, a in debian if not q.endswith("?")], 5000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
