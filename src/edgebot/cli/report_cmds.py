"""`edgebot report`: each KPI against its target (settings section `kpi`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from edgebot.cli.common import Add
from edgebot.settings import LoadedSettings


def cmd_report(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.storage import Database
    from edgebot.telemetry.report import kpis, since_modifier

    since_modifier(args.since)  # a bad --since is reported before the database opens
    result = kpis(Database(loaded.settings.database_path), loaded.settings.kpi, args.since)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    csat = "-" if result["csat"] is None else f"{result['csat']:.2f}"
    print(f"last {result['since']}: {result['conversations']} conversations, CSAT {csat}")
    for name, k in result["kpis"].items():
        value = "-" if k["value"] is None else f"{k['value']:g}"
        sign = "<=" if k["target_kind"] == "max" else ">="
        print(f"  {name:<34} {value:>10}   target {sign} {k['target']:<8g} {k['status'].upper()}")
    return 0


def register(sub: Any, add: Add) -> None:
    p = add(sub, "report", cmd_report, "Print each KPI (fallback, resolution, latency, cost...) against its target.")
    p.add_argument("--since", default="7d", help="period: a number and h, d or w (default 7d)")
    p.add_argument("--json", action="store_true", help="print JSON: since, conversations, csat, kpis")
