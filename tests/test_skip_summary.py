"""The test run ends with what was skipped, grouped by reason, and the command that installs what
each skipped test needs: a run of tests/conftest.py's hook on a small test file (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.skips import INSTALL, needs, summary_lines

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parent / "conftest.py"
SKIPPING = '''
import pytest
from tests.support.skips import needs

@pytest.mark.skipif(True, reason=needs("bubblewrap", "bubblewrap is not installed"))
@pytest.mark.parametrize("i", range(3))
def test_sandbox(i):
    pass

def test_browser():
    pytest.skip(needs("chromium", "chromium and chromedriver are not installed"))

@pytest.fixture(scope="module")
def postgres():
    pytest.skip(needs("postgresql", "PostgreSQL is not installed"))

def test_store(postgres):
    pass

def test_elsewhere():
    pytest.skip("the shared data folder is not beside this checkout")

def test_runs():
    pass
'''


def test_the_run_ends_with_the_skips_and_their_install_commands(pytester: pytest.Pytester
                                                                 ) -> None:
    pytester.makeconftest(CONFTEST.read_text())  # the real hook, not a copy of its logic
    pytester.makepyfile(test_skipping=SKIPPING)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=6)
    result.stdout.fnmatch_lines([
        "*- 6 skipped (count, reason  ->  what installs it) -*",
        "   3  bubblewrap is not installed  ->  sudo apt-get install bubblewrap",
        "   1  PostgreSQL is not installed  ->  sudo apt-get install postgresql",
        "   1  chromium and chromedriver are not installed  ->  "
        "sudo apt-get install chromium chromium-driver",
        "   1  the shared data folder is not beside this checkout",
        "*1 passed, 6 skipped*",
    ], consecutive=True)


def test_no_skips_no_list(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_fine="def test_runs():\n    pass\n")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "skipped" not in result.stdout.str()


def test_the_tag_not_the_wording_finds_the_command() -> None:
    lines = summary_lines([needs("bubblewrap", "no sandbox here"), "plain reason [needs: x]"])
    assert lines == ["   1  no sandbox here  ->  sudo apt-get install bubblewrap",
                     "   1  plain reason  ->  install x"]
    with pytest.raises(ValueError, match="INSTALL"):
        needs("lynx", "no browser")
    assert set(INSTALL) == {"bubblewrap", "chromium", "postgresql"}
