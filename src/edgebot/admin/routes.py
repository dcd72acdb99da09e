"""The admin dashboard at /admin: server-rendered pages (Jinja2, inline SVG charts), admin scope only.
A browser signs in once with an admin API key (`edgebot keys create NAME --scope admin`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import MediaType, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from edgebot.admin import charts, data
from edgebot.admin.session import COOKIE, TTL_S
from edgebot.keys import KeyStore

_env = Environment(loader=PackageLoader("edgebot.admin", "templates"), autoescape=select_autoescape(["html"]))
_env.filters["num"] = lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
DAYS = 14
ADMIN = {"scope": "admin"}


def render(name: str, **context: Any) -> Response[str]:
    return Response(_env.get_template(name).render(**context), media_type=MediaType.HTML,
                    headers={"Cache-Control": "no-store"})


def _safe_next(target: str) -> str:
    return target if target.startswith("/admin") and "//" not in target and "\\\\" not in target else "/admin"


@get("/admin/login", operation_id="adminLoginPage", opt={"scope": "public"}, summary="Dashboard sign-in page",
     include_in_schema=False)
async def login_page(next: str = "/admin") -> Response[str]:
    return render("login.html", next=_safe_next(next), error="")


@post("/admin/login", operation_id="adminLogin", opt={"scope": "public"}, summary="Sign in with an admin key",
      include_in_schema=False)
async def login(request: Request,
                data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
    runtime = request.app.state.runtime
    record = KeyStore(runtime.db).lookup(str(data.get("key", "")).strip())
    target = _safe_next(str(data.get("next", "/admin")))
    if record is None or record.revoked_at is not None or not record.allows("admin"):
        refused = render("login.html", next=target, error="That key is unknown, revoked or lacks the admin scope.")
        refused.status_code = 401
        return refused
    runtime.audit.append(f"key:{record.id}", "admin.login", record.name, {})
    response: Response[Any] = Redirect(target)
    response.set_cookie(COOKIE, request.app.state.admin_logins.issue(record.id), max_age=TTL_S, path="/admin",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@post("/admin/logout", operation_id="adminLogout", opt=ADMIN, summary="Sign out of the dashboard",
      include_in_schema=False)
async def logout() -> Response[Any]:
    response: Response[Any] = Redirect("/admin/login")
    response.delete_cookie(COOKIE, path="/admin")
    return response


@get("/admin", operation_id="adminOverview", opt=ADMIN, summary="Dashboard: KPIs, charts, alerts",
     include_in_schema=False)
async def overview(request: Request, since: str = "7d") -> Response[str]:
    from edgebot.kpi import kpis, since_time

    runtime = request.app.state.runtime
    try:
        since_time(since)
    except Exception:  # noqa: BLE001 - a hand-edited URL: fall back to the default period
        since = "7d"
    result, days, hist = await asyncio.to_thread(lambda: (kpis(runtime.db, runtime.settings.kpi, since),
                                                          data.daily(runtime.sessions, DAYS),
                                                          data.confidence_histogram(runtime.db, DAYS)))
    k = runtime.settings.kpi
    labels = [d["day"][5:] for d in days]
    chart_svgs = [
        charts.line_chart("Conversations per day", labels, [d["conversations"] for d in days]),
        charts.line_chart("Fallback rate per day", labels, [d["fallback_rate"] for d in days],
                          target=k.fallback_rate_max),
        charts.line_chart("Reply latency p95 per day (ms)", labels, [d["latency_ms_p95"] for d in days],
                          target=k.latency_ms_p95_max, unit=" ms"),
        charts.bar_chart("Intent confidence (messages)", [f"{i / 10:.1f}" for i in range(10)], hist),
    ]
    drift = runtime.drift.status() if runtime.drift is not None else None
    alerts = runtime.alerts.active() if runtime.alerts is not None else []
    return render("overview.html", page="overview", result=result, charts=chart_svgs, drift=drift, alerts=alerts,
                  since=since)


@get("/admin/conversations", operation_id="adminConversations", opt=ADMIN, summary="Dashboard: conversations",
     include_in_schema=False)
async def conversations(request: Request, intent: str = "", outcome: str = "", rating: str = "",
                        date_from: str = "", date_to: str = "", variant: str = "", page: int = 1) -> Response[str]:
    runtime = request.app.state.runtime
    f = data.Filters(intent, outcome, rating, date_from, date_to, variant).clean()
    page = max(1, min(page, 10_000))
    rows = await asyncio.to_thread(data.conversations, runtime.sessions, runtime.dialogue_store, f, 50, (page - 1) * 50)
    return render("conversations.html", page="conversations", rows=rows, f=f,
                  intents=data.known_intents(runtime.dialogue_store),
                  outcomes=data.OUTCOMES, n=page)


@get("/admin/conversations/{session_id:str}", operation_id="adminTranscript", opt=ADMIN,
     summary="Dashboard: one conversation's transcript", include_in_schema=False)
async def transcript(request: Request, session_id: str) -> Response[str]:
    runtime = request.app.state.runtime
    t = await asyncio.to_thread(data.transcript, runtime.sessions, runtime.dialogue_store, session_id[:64])
    if t is None:
        response = render("missing.html", page="conversations", what=f"no conversation {session_id[:64]}")
        response.status_code = 404
        return response
    return render("transcript.html", page="conversations", t=t)


@get("/admin/handoffs", operation_id="adminHandoffs", opt=ADMIN, summary="Dashboard: the handoff queue",
     include_in_schema=False)
async def handoffs(request: Request) -> Response[str]:
    rows = await asyncio.to_thread(data.handoff_queue, request.app.state.runtime.dialogue_store)
    return render("handoffs.html", page="handoffs", rows=rows)


@get("/admin/unanswered", operation_id="adminUnanswered", opt=ADMIN,
     summary="Dashboard: unanswered questions grouped by similarity", include_in_schema=False)
async def unanswered(request: Request, days: int = DAYS) -> Response[str]:
    runtime = request.app.state.runtime
    days = max(1, min(days, 365))

    def load() -> list[data.Group]:
        items = data.unanswered_texts(runtime.sessions, days)
        if not items:
            return []
        vectors = runtime.encoder.embed([i["text"] for i in items])
        return data.group_similar(items, vectors)

    groups = await asyncio.to_thread(load)
    return render("unanswered.html", page="unanswered", groups=groups, days=days)


ADMIN_ROUTES = [login_page, login, logout, overview, conversations, transcript, handoffs, unanswered]
