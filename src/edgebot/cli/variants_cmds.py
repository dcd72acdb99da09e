"""`edgebot variants ...`: prompt and model variants with a traffic split, shadow runs and promotion."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgebot.cli.common import Add, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def _store(loaded: LoadedSettings) -> Any:
    from edgebot.storage import open_database
    from edgebot.variants import VariantStore

    return VariantStore(open_database(loaded.settings.database_target))


def _audit(loaded: LoadedSettings, action: str, name: str, details: dict[str, Any]) -> None:
    from edgebot.audit import AuditLog
    from edgebot.storage import open_database

    AuditLog(open_database(loaded.settings.database_target)).append("cli", action, name, details)


def cmd_variants_add(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    settings = loaded.settings
    if (args.prompt is None) == (args.prompt_file is None):
        raise UsageError("give the variant's system prompt as --prompt TEXT or --prompt-file FILE (one of them)")
    if args.prompt_file:
        path = Path(args.prompt_file)
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        prompt = path.read_text(encoding="utf-8").strip()
    else:
        prompt = args.prompt
    store = _store(loaded)
    control = next((v for v in store.all() if v.mode == "control"), None)
    model = args.model or (control.model if control else settings.llm.model)
    ModelStore(settings.models_dir).require(model)  # installed (a clear error says how to pull it)
    v = store.add(args.name, prompt, model, args.weight, "shadow" if args.shadow else "live")
    _audit(loaded, "variant.add", v.name, {"model": v.model, "weight": v.weight, "mode": v.mode})
    what = f"replays {v.weight:.0%} of answered turns, replies logged only" if v.mode == "shadow" \
        else f"answers {v.weight:.0%} of new conversations"
    print(f"added variant {v.name} ({v.mode}, model {v.model}): it {what}. A running server picks it up within seconds.")
    return 0


def cmd_variants_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    variants = _store(loaded).all()
    if args.json:
        print(json.dumps([asdict(v) for v in variants], indent=2))
        return 0
    if not any(v.mode == "control" for v in variants):
        print(f"{'default':<20} {'control':<8} {'-':>6}  {loaded.settings.llm.model:<32} (llm.system_prompt)")
    for v in variants:
        first = v.system_prompt.splitlines()[0][:50]
        print(f"{v.name:<20} {v.mode:<8} {v.weight:>6.2f}  {v.model:<32} {first}")
    return 0


def cmd_variants_promote(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    v = _store(loaded).promote(args.name)
    _audit(loaded, "variant.promote", v.name, {"model": v.model})
    print(f"{v.name} is now the control: new conversations get its prompt and model; the previous control is retired")
    return 0


def cmd_variants_retire(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    v = _store(loaded).retire(args.name)
    _audit(loaded, "variant.retire", v.name, {})
    say(f"retired {v.name}: its conversations continue on the control")
    return 0


def register(sub: Any, add: Add) -> None:
    variants = sub.add_parser("variants", help="Prompt/model variants: traffic split, shadow mode, promote.",
                              description="Variants of the system prompt and model. Live ones answer a share of "
                                          "new conversations; shadow ones replay a sample of turns with their "
                                          "replies logged, never sent; `edgebot report` shows KPIs per variant.")
    vsub = variants.add_subparsers(dest="variants_command", metavar="ACTION", required=True)
    p = add(vsub, "add", cmd_variants_add, "Add a variant (live with a traffic share, or --shadow).")
    p.add_argument("name", help="lowercase letters, digits, - and _")
    p.add_argument("--prompt", help="the variant's system prompt")
    p.add_argument("--prompt-file", metavar="FILE", help="read the system prompt from FILE")
    p.add_argument("--model", help="catalog name of its chat model (default: the control's)")
    p.add_argument("--weight", type=float, default=0.1,
                   help="live: share of new conversations; shadow: share of answered turns replayed (default 0.1)")
    p.add_argument("--shadow", action="store_true", help="run it in shadow mode: replies are logged, never sent")
    p = add(vsub, "list", cmd_variants_list, "List variants with their mode, share and model.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(vsub, "promote", cmd_variants_promote, "Make a variant the control for all traffic.")
    p.add_argument("name")
    p = add(vsub, "retire", cmd_variants_retire, "Stop a live or shadow variant.")
    p.add_argument("name")
