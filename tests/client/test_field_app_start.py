"""`tovholder client ui` as a person starts it: the address printed, the browser opened on
the unlock page once the app answers, and a folder without a store refused at once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from client.laptop import Laptop
from tests.integration.conftest import EXE, free_port

pytestmark = pytest.mark.slow

#: A stand-in browser (`$BROWSER`, which Python's webbrowser module honours): it writes
#: the address it was asked to open into a file.
BROWSER = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"


def test_the_app_opens_the_browser_on_its_unlock_page(make_laptop: Callable[..., Laptop], tmp_path: Path) -> None:
    make_laptop("a").close()
    opened = tmp_path / "opened"
    (tmp_path / "browser.py").write_text(BROWSER)
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BROWSER": f"{sys.executable} {tmp_path / 'browser.py'} {opened} %s",
    }
    proc = subprocess.Popen(
        [*EXE, "client", "--data", str(tmp_path / "a"), "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not opened.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the browser was not opened"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/unlock"
        assert opened.read_text() == url
        page = httpx.get(url)
        assert page.status_code == 200 and "Lås op" in page.text
        assert httpx.get(url.replace("127.0.0.1", "localhost")).status_code == 200  # the app's other name
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert out.startswith(f"The field app is at {url}")
    assert "Traceback" not in err


def test_a_folder_without_a_laptop_store_is_refused_before_anything_is_served(tmp_path: Path) -> None:
    done = subprocess.run(
        [*EXE, "client", "--data", str(tmp_path / "none"), "ui", "--no-browser"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "holds no laptop store; run 'tovholder client init' first" in done.stderr
