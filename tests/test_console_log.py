"""While the console runs, log lines go to a file: on stderr they would land on the screen."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.ui.console_log import log_to_file


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved = list(root.handlers)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in saved:
            handler.close()
    for handler in saved:
        root.addHandler(handler)


def test_warnings_go_beside_the_store_not_to_stderr(
    root_handlers: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    root.addHandler(logging.StreamHandler(sys.stderr))
    path = log_to_file(tmp_path / "data" / "bridge.db")
    assert path == tmp_path / "data" / "console.log"
    logging.getLogger("bridge.runtime.runner").warning("collector snmp:dead failed: timeout")
    assert "snmp:dead" not in capsys.readouterr().err
    assert "collector snmp:dead failed: timeout" in path.read_text()
