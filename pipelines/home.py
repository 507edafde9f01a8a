"""Where default paths live: the project's folder, not wherever the command happens to be typed.

`cx run` from a subfolder, a cron job's home directory or a notebook's working directory must read and
write the same data/ as from the project root: defaults are anchored to CX_HOME when it is set, else to
the checkout this package runs from (the folder holding pyproject.toml), else the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "CX_HOME"


def project_root() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    checkout = Path(__file__).resolve().parents[1]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def default_path(relative: str) -> str:
    """A default path such as 'data/raw', under the project root."""
    return str(project_root() / relative)
