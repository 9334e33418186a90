"""The README's two set-up commands: CI runs the test command exactly as the README gives it."""

import re

from .conftest import REPO_ROOT


def _setup_commands() -> list[str]:
    section = REPO_ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_has_exactly_two_setup_commands():
    main_job, tests = _setup_commands()
    assert main_job.endswith("python train.py")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = _setup_commands()
    ci = REPO_ROOT.joinpath(".ci", "run").read_text().splitlines()
    assert ci[-1] == tests
