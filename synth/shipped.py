"""Where the shipped model files are: the defaults of every command.

In a checkout (or an editable install) they are the repository's ``models/``; installed from
a wheel, they are in ``<prefix>/share/deepnote/models``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _models_folder() -> Path:
    checkout = Path(__file__).resolve().parent.parent / "models"
    installed = Path(sys.prefix) / "share" / "deepnote" / "models"
    return checkout if checkout.is_dir() or not installed.is_dir() else installed


MODELS = _models_folder()
DEFAULT_MODEL = MODELS / "grains.pt"
DEFAULT_VOICE = MODELS / "voice.pt"
DEFAULT_COMPOSER = MODELS / "composer.pt"
