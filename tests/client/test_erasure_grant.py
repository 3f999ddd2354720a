"""Rule 10 on the laptop: `erasure decide --grant` is refused to an outreach worker, even
of the lead department, and accepted from its caseworker; a refusal anyone may record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from client.laptop import Laptop

from .conftest import PASSPHRASE
from .test_more_commands import refused, run


def test_an_outreach_worker_may_not_grant_an_erasure(
    make_laptop: Callable[..., Laptop],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_laptop("o", department="children-family", role="outreach").close()
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    o = ["client", "--data", str(tmp_path / "o")]
    case = run(capsys, *o, "case", "open", "--kind", "citizen", "--lead", "children-family")["case"]
    person = run(capsys, *o, "person", "add", case, "--role", "citizen", "--name", "Mona Berg")["person"]
    request = run(capsys, *o, "erasure", "request", case, "--requested-by", person)["request"]
    before = run(capsys, *o, "status")["pending"]
    message = refused(capsys, *o, "erasure", "decide", case, request, "--grant", "--legal-basis", "GDPR art. 17")
    assert "only a caseworker or coordinator of the lead department (children-family) may grant an erasure" in message
    assert run(capsys, *o, "status")["pending"] == before

    make_laptop("c", department="children-family", role="caseworker").close()
    c = ["client", "--data", str(tmp_path / "c")]
    case = run(capsys, *c, "case", "open", "--kind", "citizen", "--lead", "children-family")["case"]
    person = run(capsys, *c, "person", "add", case, "--role", "citizen", "--name", "Mona Berg")["person"]
    request = run(capsys, *c, "erasure", "request", case, "--requested-by", person)["request"]
    decided = run(capsys, *c, "erasure", "decide", case, request, "--grant", "--legal-basis", "GDPR art. 17")
    assert decided["request"] == request
