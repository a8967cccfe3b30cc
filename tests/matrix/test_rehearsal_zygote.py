"""The pre-loaded process the rehearsals are forked from: exit codes, output, environment, and a stuck child."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rehearsal_runner import Zygote


@pytest.fixture
def zygote(tmp_path: Path) -> Iterator[Zygote]:
    z = Zygote(tmp_path / "zygote.log")
    try:
        z.wait_ready()
        yield z
    finally:
        z.close()


def _pytest_args(tmp_path: Path, body: str) -> list[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's options
    (tmp_path / "test_child.py").write_text(body)
    return [str(tmp_path / "test_child.py"), "-q", "-c", str(tmp_path / "pytest.ini"), "-p", "no:cacheprovider"]


@pytest.mark.timeout(120)
def test_each_fork_is_a_pytest_run_with_its_own_environment(zygote: Zygote, tmp_path: Path) -> None:
    body = "import os\ndef test_env():\n    print('MARK', os.environ['ZYGOTE_TEST'])\n    assert os.environ['ZYGOTE_TEST'] == 'one'\n"
    args = [*_pytest_args(tmp_path, body), "-s"]
    env = {**os.environ, "ZYGOTE_TEST": "one"}
    assert zygote.run(args, env, tmp_path / "first.log") == 0
    assert "MARK one" in (tmp_path / "first.log").read_text()
    # The next fork starts from the zygote, not from the previous child: another environment, another result.
    assert zygote.run(args, {**os.environ, "ZYGOTE_TEST": "two"}, tmp_path / "second.log") == 1
    assert "1 failed" in (tmp_path / "second.log").read_text()


@pytest.mark.timeout(120)
def test_a_stuck_child_is_stopped_and_the_next_row_gets_its_own_answer(zygote: Zygote, tmp_path: Path) -> None:
    stuck = _pytest_args(tmp_path, "import time\ndef test_stuck():\n    time.sleep(600)\n")
    with pytest.raises(TimeoutError):
        zygote.run(stuck, dict(os.environ), tmp_path / "stuck.log", timeout=2)
    ok = tmp_path / "ok"
    ok.mkdir()
    assert zygote.run(_pytest_args(ok, "def test_ok():\n    pass\n"), dict(os.environ), ok / "ok.log") == 0
    assert zygote.alive()
