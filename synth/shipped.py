"""Where the shipped model files are: the defaults of every command."""

from __future__ import annotations

from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS / "grains.pt"
DEFAULT_VOICE = MODELS / "voice.pt"
DEFAULT_COMPOSER = MODELS / "composer.pt"
