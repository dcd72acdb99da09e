"""Two `edgebot serve` replicas on one PostgreSQL database (a throwaway cluster), over real HTTP: a session
continues on either, a flow's slots filled one a turn survive every mix of replicas (and a replica killed between
two slots), a replica without the shared sealing key or with another one refuses to start, messages sent at once
to one session through both replicas are answered one turn at a time, an agent sees a handoff made on the other
replica, and the audit chain and KPIs are one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import Server, cli_env, fresh_pg_database, listen_events, say, seal_key_file

AGENT = {"X-API-Key": "agent-key"}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, pg_cluster: str) -> Iterator[list[Server]]:
    url = fresh_pg_database(pg_cluster)
    settings = {"paths_database": url, "llm_max_tokens": "24", "llm_temperature": "0", "dialogue_catalog": "demo",
                "dialogue_agent_key": "agent-key", "server_turn_wait_s": "300",  # a slow box must not turn into 409s
                "privacy_seal_key_file": str(seal_key_file())}
    servers = [Server(tmp_path_factory.mktemp(f"replica{i}"), models_dir, **settings) for i in range(2)]
    for srv in servers:
        srv.database = url  # type: ignore[attr-defined]
    yield servers
    for srv in servers:
        srv.stop()


def test_a_session_continues_on_either_replica(replicas: list[Server]) -> None:
    a, b = replicas
    sid, auth = a.session()
    first = say(a, sid, auth, "where is my order?")
    assert first["decision"] == "ask_slot"
    done = say(b, sid, auth, "NW-10042 and my email is sam@example.com")  # the flow's state came from a's turn
    assert done["actions"] == ["orders"] and "shipped" in done["text"]
    history = httpx.get(f"{a.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"] * 2


def order_in_three_turns(first: Server, second: Server, third: Server) -> None:
    """'where is my order?', the order number, the e-mail address: one a turn, on FIRST, SECOND and THIRD."""
    sid, auth = first.session()
    assert say(first, sid, auth, "where is my order?")["decision"] == "ask_slot"
    asked = say(second, sid, auth, "it's NW-10042")
    assert asked["decision"] == "ask_slot" and "email address" in asked["text"], asked
    done = say(third, sid, auth, "sam@example.com")  # the order number, sealed by SECOND, is read here
    assert done["actions"] == ["orders"] and "NW-10042" in done["text"] and "shipped" in done["text"], done


@pytest.mark.parametrize("mix", ["ABA", "BAB", "AAB", "ABB", "BBA", "BAA"])
def test_a_flows_slots_survive_every_mix_of_replicas(replicas: list[Server], mix: str) -> None:
    by_name = {"A": replicas[0], "B": replicas[1]}
    order_in_three_turns(*(by_name[c] for c in mix))


def test_a_replica_killed_between_two_slots(replicas: list[Server], tmp_path: Path, models_dir: Path) -> None:
    a = replicas[0]
    c = Server(tmp_path / "c", models_dir, **a.settings)
    sid, auth = c.session()
    assert say(c, sid, auth, "where is my order?")["decision"] == "ask_slot"
    assert "email address" in say(c, sid, auth, "NW-10042")["text"]
    c.proc.kill()
    c.proc.wait(10)
    done = say(a, sid, auth, "my email is sam@example.com")
    assert done["actions"] == ["orders"] and "shipped" in done["text"], done


def test_a_replica_without_the_shared_sealing_key_or_with_another_refuses_to_start(
        replicas: list[Server], tmp_path: Path, models_dir: Path) -> None:
    settings = {k: v for k, v in replicas[0].settings.items() if k != "privacy_seal_key_file"}
    with pytest.raises(RuntimeError) as refused:
        Server(tmp_path / "nokey", models_dir, **settings)
    assert "edgebot privacy seal-key" in str(refused.value) and "Traceback" not in str(refused.value)
    other = tmp_path / "other.key"
    made = subprocess.run([sys.executable, "-m", "edgebot", "privacy", "seal-key", "--file", str(other)],
                          env=cli_env(tmp_path / "cli"), capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0 and other.stat().st_mode & 0o777 == 0o600, made.stderr
    with pytest.raises(RuntimeError) as refused:
        Server(tmp_path / "otherkey", models_dir, **settings, privacy_seal_key_file=str(other))
    assert "sealed with another key" in str(refused.value) and "Traceback" not in str(refused.value)


def test_messages_at_once_through_both_replicas_take_turns(replicas: list[Server]) -> None:
    a, b = replicas
    sid, auth = a.session()
    texts = ["how long does shipping take", "what is your return policy", "do you ship internationally",
             "is return shipping free"]
    codes: list[int] = []

    def send(srv: Server, text: str) -> None:
        codes.append(httpx.post(f"{srv.url}/v1/sessions/{sid}/messages", json={"text": text}, headers=auth,
                                timeout=120).status_code)

    threads = [threading.Thread(target=send, args=(replicas[i % 2], t)) for i, t in enumerate(texts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 4
    history = httpx.get(f"{b.url}/v1/sessions/{sid}", headers=auth).json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"] * 4


def test_a_handoff_on_one_replica_reaches_the_agent_and_the_visitors_stream_through_the_other(
        replicas: list[Server]) -> None:
    a, b = replicas
    sid, auth = a.session()
    reply = say(a, sid, auth, "I want to talk to a human")
    assert reply["decision"] == "handoff" and reply["handoff_id"]
    handoff_id = reply["handoff_id"]
    queue_b = httpx.get(f"{b.url}/v1/handoffs?status=open", headers=AGENT).json()
    assert handoff_id in [h["id"] for h in queue_b]

    events, listener = listen_events(f"{a.url}/v1/sessions/{sid}/events", auth)
    assert events.get(timeout=10)[0] == "ready"
    # the agent works on replica b: the claim and the message reach the stream on a (NOTIFY)
    claimed = httpx.post(f"{b.url}/v1/handoffs/{handoff_id}/claim", json={"agent": "dana"}, headers=AGENT)
    assert claimed.status_code == 200, claimed.text
    assert events.get(timeout=10) == ("handoff", {"id": handoff_id, "status": "claimed", "agent": "dana"})
    sent = httpx.post(f"{b.url}/v1/handoffs/{handoff_id}/messages", json={"text": "Hi, how can I help?"},
                      headers=AGENT)
    assert sent.status_code == 201, sent.text
    event, data = events.get(timeout=10)
    assert event == "agent_message" and data["text"] == "Hi, how can I help?"
    listener.join(10)


def test_one_audit_chain_and_one_report(replicas: list[Server]) -> None:
    """The CLI on the same database: the audit chain both replicas appended to verifies, the report counts
    the conversations of both."""
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edgebot", *args], capture_output=True, text=True,
                              env=cli_env(replicas[0].data_dir, paths_database=replicas[0].database), timeout=60, check=False)

    verified = cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = cli("report", "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["conversations"] >= 3  # sessions created on both replicas
