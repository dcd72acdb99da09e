"""Shared fixtures. Tests never read the user's real config or data: XDG dirs point into tmp.

The real models come from EDGEBOT_TEST_MODELS_DIR (scripts/test pulls them into .cache/models).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edgebot.modelstore import ModelStore
from tests.support import Server

ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("EDGEBOT_TEST_MODELS_DIR", ROOT / ".cache" / "models"))
LLM = "smollm2-135m-instruct-q4_1"


def _isolate(home: Path, setenv: Callable[[str, str], None], delenv: Callable[[str], None]) -> None:
    """Point the user's config and data dirs into HOME (XDG_*, and EDGEBOT_CONFIG at an empty file there, for
    platforms whose dirs ignore XDG) and drop the EDGEBOT_ variables other than EDGEBOT_TEST_ ones."""
    for name in list(os.environ):
        if name.startswith("EDGEBOT_") and not name.startswith("EDGEBOT_TEST_"):
            delenv(name)
    for xdg in ("CONFIG", "DATA", "CACHE", "STATE"):
        setenv(f"XDG_{xdg}_HOME", str(home / xdg.lower()))
    config = home / "edgebot-config.toml"  # not the platform's default path, which stays empty
    home.mkdir(parents=True, exist_ok=True)
    config.touch()
    setenv("EDGEBOT_CONFIG", str(config))


_SESSION_HOME: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    """Before any fixture of any scope: the whole run, and every process it starts, reads none of the user's
    config, data or EDGEBOT_ variables (a module-scoped server would otherwise start before the function-scoped
    fixture below)."""
    import tempfile

    _SESSION_HOME.append(Path(tempfile.mkdtemp(prefix="edgebot-tests-home-")))
    _isolate(_SESSION_HOME[-1], os.environ.__setitem__, os.environ.pop)


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    for home in _SESSION_HOME:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test: user dirs of its own (what it writes there is gone after it)."""
    _isolate(tmp_path_factory.mktemp("home"), monkeypatch.setenv, monkeypatch.delenv)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = ModelStore(MODELS_DIR).path_for(LLM)
    if not path.is_file():
        pytest.fail(
            f"the default models are not in {MODELS_DIR}; run scripts/test, or "
            f"EDGEBOT_PATHS_MODELS_DIR={MODELS_DIR} edgebot models pull --default"
        )
    return MODELS_DIR


@pytest.fixture
def cli_home(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's data in TMP_PATH, with the test models."""
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(models_dir))
    return tmp_path


@pytest.fixture(scope="session")
def provider(models_dir: Path):
    from edgebot.llm import LlamaCppProvider

    return LlamaCppProvider(ModelStore(models_dir).path_for(LLM), n_ctx=2048)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("server"), models_dir, llm_max_tokens="48", llm_temperature="0")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def encoder(models_dir: Path):
    from edgebot.nlu import Encoder

    store = ModelStore(models_dir)
    return Encoder(store.require("minilm-l6-v2-int8-dynamic"), store.require("minilm-l6-v2-tokenizer"),
                   sha256=store.entry("minilm-l6-v2-int8-dynamic").sha256)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL cluster (scripts/pg-throwaway) for the session; its URL without a database name.
    Skipped where PostgreSQL is not installed, except in CI (scripts/test installs it there)."""
    import shutil
    import subprocess

    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; scripts/test installs postgresql-15 in CI")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql-15)")
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="edgebot-pg-"))  # under /tmp: reachable by the postgres user
    folder.chmod(0o755)
    script = ROOT / "scripts" / "pg-throwaway"
    out = subprocess.run([str(script), "start", str(folder)], check=False, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    yield out.stdout.strip()
    subprocess.run([str(script), "stop", str(folder)], check=False, capture_output=True, timeout=120)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _servers_on_postgresql(request: pytest.FixtureRequest) -> Iterator[None]:
    """EDGEBOT_TEST_DATABASE=postgresql: every `edgebot serve` the tests start (tests/support.Server) gets a fresh
    PostgreSQL database instead of its SQLite file, so the HTTP tests run on the second backend too."""
    if os.environ.get("EDGEBOT_TEST_DATABASE") != "postgresql":
        yield
        return
    os.environ["EDGEBOT_TEST_PG_URL"] = request.getfixturevalue("pg_cluster")
    yield
    os.environ.pop("EDGEBOT_TEST_PG_URL", None)


@pytest.fixture
def pg_db(pg_cluster: str):
    """A factory of fresh PostgreSQL databases on the session's throwaway cluster (closed after the test)."""
    from edgebot.storage import open_database
    from tests.support import fresh_pg_database

    opened = []

    def make():
        opened.append(open_database(fresh_pg_database(pg_cluster)))
        return opened[-1]
    yield make
    for db in opened:
        db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def make_db(request: pytest.FixtureRequest, tmp_path: Path):
    """A factory of fresh databases on each backend: the same store tests run on SQLite and PostgreSQL."""
    from edgebot.storage import open_database

    opened = []
    if request.param == "sqlite":
        def make():
            opened.append(open_database(tmp_path / f"db{len(opened)}.sqlite3"))
            return opened[-1]
    else:
        make = request.getfixturevalue("pg_db")
    make.backend = request.param  # type: ignore[attr-defined]
    yield make
    for db in opened:
        db.close()
