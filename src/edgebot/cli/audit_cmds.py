"""`edgebot audit ...`: list the audit log and verify its hash chain."""

from __future__ import annotations

import argparse
import json
from typing import Any

import msgspec

from edgebot.cli.common import Add
from edgebot.settings import LoadedSettings


def _log(loaded: LoadedSettings) -> Any:
    from edgebot.audit import AuditLog
    from edgebot.storage import open_database

    return AuditLog(open_database(loaded.settings.database_target))


def cmd_audit_verify(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    result = _log(loaded).verify()
    if args.json:
        print(json.dumps(msgspec.to_builtins(result), indent=2))
    elif result.ok:
        print(f"audit log intact: {result.records} records chain correctly; head hash {result.head_hash} "
              "(keep it elsewhere: records cut off the end are only visible against it)")
    else:
        print(f"audit log TAMPERED: record {result.first_bad_seq} is the first that does not fit ({result.reason}); "
              f"{result.records} records read")
    return 0 if result.ok else 1


def cmd_audit_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    records = _log(loaded).records()[-args.last:]
    if args.json:
        print(json.dumps([msgspec.to_builtins(r) for r in records], indent=2))
        return 0
    for r in records:
        print(f"{r.seq:>6}  {r.at}  {r.actor:<18} {r.action:<18} {r.subject}  {json.dumps(r.details)}")
    return 0


def register(sub: Any, add: Add) -> None:
    audit = sub.add_parser("audit", help="The hash-chained audit log: list and verify.",
                           description="Append-only audit log of sensitive actions (handoffs, agents, privacy).")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = add(asub, "verify", cmd_audit_verify,
            "Check the hash chain; exit 1 and name the first bad record if any record was edited, removed or moved.")
    p.add_argument("--json", action="store_true", help="print JSON: ok, records, first_bad_seq, reason")
    p = add(asub, "list", cmd_audit_list, "Print the newest audit records.")
    p.add_argument("--last", type=int, default=50, help="how many (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON")
