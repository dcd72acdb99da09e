"""The WordPress plugin end to end (scripts/wp-e2e): a real WordPress, MariaDB, the plugin from its zip,
`edgebot serve` and Debian's Chromium. scripts/test installs what it needs with apt when run as root."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDED = [shutil.which("php"), shutil.which("mariadbd") or shutil.which("mysqld"), shutil.which("phpunit"),
          shutil.which("npm"), shutil.which("chromium")]


def test_wp_e2e_script_passes(models_dir: Path, tmp_path: Path) -> None:
    if not all(NEEDED) or not Path("/usr/share/wordpress/wp-settings.php").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have php, mariadb, Debian's wordpress, phpunit, npm and chromium: scripts/test installs them")
        pytest.skip("WordPress, PHP or MariaDB is not installed (scripts/test installs them with apt as root)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBOT_") or k == "EDGEBOT_TEST_MODELS_DIR"}
    env["EDGEBOT_TEST_MODELS_DIR"] = str(models_dir)
    env["WP_E2E_SCREENSHOTS"] = str(tmp_path)
    tracked = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    result = subprocess.run([str(ROOT / "scripts" / "wp-e2e")], capture_output=True, text=True, env=env, timeout=900,
                            check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for line in ["the answer streamed in pieces", "the answer cites the Shipping page",
                 "the answer is the page's verified sentence",
                 "rating the answer is stored", "a post published in WordPress is answered from within 10 s",
                 "a post given a password leaves the knowledge base",
                 "edgebot kb ingest --wordpress reads the site without a second copy of what the plugin sent",
                 "a request without a valid wp_rest nonce is refused", "a forged signature straight to edgebot is refused",
                 "Test connection shows readiness and version", "the saved secret is never echoed back",
                 "the personal data exporter returns the logged-in user's conversation",
                 "the conversation is shown again after a page load", "Test connection names a wrong site secret",
                 "the personal data eraser removes the conversation",
                 "an erased session recovers in the widget with a clear message",
                 "with edgebot down the exporter reports an error, not an empty export",
                 "with edgebot down the visitor is told so, keeps the text and gets a retry",
                 "a changed site address leaves one copy of each page", "every settings input is tied to its label"]:
        assert f"ok - {line}" in output
    assert (tmp_path / "wp-widget.png").stat().st_size > 10_000 and (tmp_path / "wp-widget-390.png").stat().st_size > 10_000
    after = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False).stdout
    assert after == tracked, "scripts/wp-e2e changed files in the checkout"
