from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "data"
# The real corpora live beside the project (../shared/data); HAPPYBOT_DATA_DIR overrides.
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def write(tmp_path):
    """Write ``content`` (text, or bytes as they are) to ``tmp_path/name`` and return the path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write
