"""`edgebot report`: each KPI against its target (settings section `kpi`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from edgebot.cli.common import Add
from edgebot.settings import LoadedSettings


def cmd_report(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.kpi import kpis, since_time
    from edgebot.storage import open_database

    since_time(args.since)  # a bad --since is reported before the database opens
    db = open_database(loaded.settings.database_target)
    result = kpis(db, loaded.settings.kpi, args.since)
    if args.alert:
        result["alert"] = send_alert(db, loaded, result)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if args.alert:
        print(f"alert: {result['alert']}")
    csat = "-" if result["csat"] is None else f"{result['csat']:.2f}"
    print(f"last {result['since']}: {result['conversations']} conversations, CSAT {csat}")
    _print_kpis(result["kpis"])
    for alert in result["alerts"]:
        print(f"ACTIVE ALERT {alert['kind']} since {alert['created_at']}: {json.dumps(alert['details'])[:200]}")
    for name, v in result.get("variants", {}).items():
        print(f"variant {name} ({v.get('mode', '?')}): {v.get('conversations', 0)} conversations")
        _print_kpis(v.get("kpis", {}))
        if "shadow" in v:
            sh = v["shadow"]
            print(f"  shadow: {sh['shadow_replies']} replies logged, p95 {sh['latency_ms_p95']} ms, "
                  f"{sh['completion_tokens_mean']} tokens each on average")
    return 0


def _print_kpis(kpis: dict[str, Any]) -> None:
    for name, k in kpis.items():
        value = "-" if k["value"] is None else f"{k['value']:g}"
        sign = "<=" if k["target_kind"] == "max" else ">="
        print(f"  {name:<34} {value:>10}   target {sign} {k['target']:<8g} {k['status'].upper()}")


def send_alert(db: Any, loaded: LoadedSettings, result: dict[str, Any]) -> str:
    """POST a signed alert about breached KPIs, at most once per kpi.alert_min_interval_minutes."""
    import time

    from edgebot.telemetry.alerts import Alerts
    from edgebot.webhooks import post_signed

    kpi = loaded.settings.kpi
    breached = {name: k for name, k in result["kpis"].items() if k["status"] == "breach"}
    if not breached:
        return "none (no breach)"
    if not kpi.alert_webhook_url:
        return "not sent (set kpi.alert_webhook_url)"
    alerts = Alerts(db)
    last, now = alerts.report_alert_at(), int(time.time())
    if last is not None and now - last < kpi.alert_min_interval_minutes * 60:
        return "suppressed (an alert went out less than kpi.alert_min_interval_minutes ago)"
    payload = {"event": "kpi.breach", "since": result["since"], "breached": breached}
    if not post_signed(kpi.alert_webhook_url, loaded.settings.dialogue.webhook_secret, payload, attempts=3):
        return "failed (the webhook did not answer; see the log)"
    alerts.note_report_alert(now)
    return f"sent ({', '.join(breached)})"


def register(sub: Any, add: Add) -> None:
    p = add(sub, "report", cmd_report, "Print each KPI (fallback, resolution, latency, cost...) against its target.")
    p.add_argument("--since", default="7d", help="period: a number and h, d or w (default 7d)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: since, conversations, csat, reviews, kpis, variants (KPIs per variant) and the "
                        "active alerts (drift...)")
    p.add_argument("--alert", action="store_true",
                   help="on a breach, POST a signed alert to kpi.alert_webhook_url (at most once per interval)")
