"""Where a figure comes from: the commit named must be this code's, or none."""

import subprocess

from happybot_env import provenance


def test_a_copy_installed_inside_another_repository_names_no_commit(tmp_path, monkeypatch):
    """A non-editable install into a virtual environment kept inside the user's own project."""
    git = ["git", "-C", str(tmp_path), "-c", "user.name=u", "-c", "user.email=u@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "the user's project"], check=True)
    installed = tmp_path / ".venv" / "lib" / "site-packages"
    installed.mkdir(parents=True)
    monkeypatch.setattr(provenance, "SOURCE", installed)
    assert provenance.source_commit() == "unknown (not a git checkout)"
