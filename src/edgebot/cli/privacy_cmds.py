"""`edgebot privacy ...`: detect and redact PII (JSONL / text on stdin), and evaluate detection."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edgebot.cli.common import Add
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def _detector(loaded: LoadedSettings) -> Any:
    from edgebot.runtime import open_detector

    return open_detector(loaded.settings)


def cmd_privacy_detect(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    detector = _detector(loaded)
    for n, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            text = json.loads(line)["text"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UsageError(f"stdin line {n}: expected JSON with a \"text\" field, e.g. {{\"text\": \"...\"}}") from None
        spans = [{"start": s.start, "end": s.end, "type": s.type} for s in detector.detect(str(text))]
        print(json.dumps({"spans": spans}), flush=True)
    return 0


def cmd_privacy_redact(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.privacy import redact

    detector = _detector(loaded)
    for line in sys.stdin:
        print(redact(line.rstrip("\n"), detector)[0], flush=True)
    return 0


def cmd_privacy_eval(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.privacy.evaluate import evaluate

    result = evaluate(Path(args.file), _detector(loaded))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"overall: precision {result['precision']:.4f}  recall {result['recall']:.4f}  F2 {result['f2']:.4f}  "
          f"({result['n_texts']} texts, {result['gold']} labelled spans, {result['predicted']} found; "
          f"p50 {result['latency_ms_p50']} ms, p95 {result['latency_ms_p95']} ms)")
    for name, r in result["per_type"].items():
        print(f"  {name:<15} precision {r['precision']:.4f}  recall {r['recall']:.4f}  F2 {r['f2']:.4f}  "
              f"(gold {r['gold']}, found {r['predicted']})")
    if not result["gold"]:  # a set of look-alikes only (precision set): every find is a false one
        print(f"no labelled spans: {result['predicted']} false finds in {result['n_texts']} texts")
    return 0


def _store(loaded: LoadedSettings) -> Any:
    from edgebot.audit import AuditLog
    from edgebot.storage import SessionStore, open_database

    db = open_database(loaded.settings.database_target)
    return SessionStore(db), AuditLog(db)


def cmd_privacy_export(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    sessions, audit = _store(loaded)
    meta = sessions.get(args.session)  # SessionNotFoundError names the problem
    out = {"session_id": meta.id, "created_at": meta.created_at, "messages": [
        {"role": m.role, "content": m.content, "created_at": m.created_at} for m in sessions.messages(args.session)]}
    audit.append("cli", "privacy.export", args.session, {"messages": len(out["messages"])})
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def cmd_privacy_erase(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    sessions, audit = _store(loaded)
    sessions.get(args.session)
    sessions.erase([args.session])
    audit.append("cli", "privacy.erase", args.session, {})
    print(f"erased session {args.session} and everything stored with it")
    return 0


def cmd_privacy_purge(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    days = args.days if args.days is not None else loaded.settings.privacy.retention_days
    if days <= 0:
        print("nothing to purge: privacy.retention_days is 0 (keep conversations); give --days N")
        return 0
    sessions, audit = _store(loaded)
    erased = sessions.erase(sessions.idle_since(days))
    audit.append("cli", "privacy.purge", "", {"days": days, "sessions": erased})
    print(f"purged {erased} conversations idle for more than {days} days")
    return 0


def cmd_privacy_vault_key(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.privacy.vault import new_key_file

    path = new_key_file(Path(args.file) if args.file else loaded.settings.data_dir / "vault.key")
    print(f"wrote a new vault key to {path} (mode 600). Turn the vault on with privacy.vault_key_file = \"{path}\"; "
          "keep a copy somewhere safe: without it the vault cannot be read")
    return 0


def cmd_privacy_seal_key(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.privacy.vault import new_key_file

    path = new_key_file(Path(args.file) if args.file else loaded.settings.data_dir / "seal.key")
    print(f"wrote a new sealing key to {path} (mode 600). Set privacy.seal_key_file = \"{path}\" on every replica "
          "that shares the database (copy the same file to each); unfinished flows survive restarts with it")
    return 0


def register(sub: Any, add: Add) -> None:
    privacy = sub.add_parser("privacy", help="Detect, redact and evaluate personal data (PII).",
                             description="PII detection with typed placeholders; nothing needs the network. Names "
                                         "and addresses also come from the learned tagger over the sentence encoder "
                                         "(privacy.tagger; its model files from `edgebot models pull --default`); "
                                         "EDGEBOT_PRIVACY_TAGGER=false uses the rules only.")
    psub = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    add(psub, "detect", cmd_privacy_detect,
        "Read JSONL {\"text\"} on stdin; write JSONL {\"spans\": [{start, end, type}]} per line.")
    add(psub, "redact", cmd_privacy_redact, "Read text on stdin; write it with PII replaced by [TYPE_N] placeholders.")
    p = add(psub, "eval", cmd_privacy_eval, "Precision, recall and F2 (overall and per type) on a labelled JSONL set.")
    p.add_argument("file", metavar="FILE", help="JSONL: {\"text\", \"spans\": [{\"start\", \"end\", \"type\"}]}")
    p.add_argument("--json", action="store_true", help="print JSON: precision, recall, f2, per_type, latency")
    p = add(psub, "export", cmd_privacy_export, "Print a session's stored messages as JSON (audited).")
    p.add_argument("--session", required=True, metavar="ID", help="the session id")
    p = add(psub, "erase", cmd_privacy_erase, "Delete a session and everything stored with it (audited).")
    p.add_argument("--session", required=True, metavar="ID", help="the session id")
    p = add(psub, "purge", cmd_privacy_purge,
            "Delete conversations idle longer than privacy.retention_days (serve also does this every minute).")
    p.add_argument("--days", type=float, help="override privacy.retention_days")
    p = add(psub, "vault-key", cmd_privacy_vault_key, "Create a key file for the token vault (off until configured).")
    p.add_argument("--file", metavar="PATH", help="where to write it (default: DATA_DIR/vault.key)")
    p = add(psub, "seal-key", cmd_privacy_seal_key,
            "Create the key that seals dialogue state; every replica on a shared database needs the same one.")
    p.add_argument("--file", metavar="PATH", help="where to write it (default: DATA_DIR/seal.key)")
