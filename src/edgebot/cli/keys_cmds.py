"""`edgebot keys ...`: API keys with scopes (hashed at rest; the key is shown once)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import msgspec

from edgebot.cli.common import Add
from edgebot.settings import LoadedSettings


def _store(loaded: LoadedSettings) -> Any:
    from edgebot.keys import KeyStore
    from edgebot.storage import open_database

    return KeyStore(open_database(loaded.settings.database_target))


def cmd_keys_create(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    scopes = [s.strip() for part in args.scope for s in part.split(",") if s.strip()]
    key, plain = _store(loaded).create(args.name, scopes)
    print(f"created key {key.id} ({key.name}; scopes {', '.join(key.scopes)}). It is shown once, keep it now:")
    print(plain)
    return 0


def cmd_keys_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    keys = _store(loaded).list()
    if args.json:
        print(json.dumps([msgspec.to_builtins(k) for k in keys], indent=2))
        return 0
    for k in keys:
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        print(f"{k.id:>4}  {k.name:<24} {','.join(k.scopes):<28} created {k.created_at}  {state}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    key = _store(loaded).revoke(args.id)
    print(f"revoked key {key.id} ({key.name})")
    return 0


def register(sub: Any, add: Add) -> None:
    from edgebot.keys import SCOPES

    keys = sub.add_parser("keys", help="API keys with scopes: create, list, revoke.",
                          description=f"API keys for the operator routes; scopes: {', '.join(SCOPES)}.")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    p = add(ksub, "create", cmd_keys_create, "Create a key; it is printed once (only its hash is stored).")
    p.add_argument("name", help="who or what uses it, e.g. support-desk")
    p.add_argument("--scope", action="append", required=True, metavar="SCOPE",
                   help=f"one or more of {', '.join(SCOPES)} (repeat, or separate with commas)")
    p = add(ksub, "list", cmd_keys_list, "List keys (never the keys themselves).")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(ksub, "revoke", cmd_keys_revoke, "Revoke a key by id; it stops working at once.")
    p.add_argument("id", type=int, help="the key's id (see `edgebot keys list`)")
