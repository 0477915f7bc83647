"""What every command shares: --version, and the one home of the shipped models."""

import subprocess
import sys

import pytest

from synth import __version__
from synth.shipped import DEFAULT_COMPOSER, DEFAULT_MODEL, DEFAULT_VOICE

ENTRY_POINTS = {"deepnote-synth": "synth.cli:main", "deepnote-compose": "synth.compose_cli:main",
                "deepnote-train": "training.cli:train_main",
                "deepnote-eval": "training.cli:eval_main",
                "deepnote-export": "training.cli:export_main",
                "deepnote-generate": "training.cli:generate_main"}


@pytest.mark.parametrize("command", sorted(ENTRY_POINTS))
def test_every_command_says_its_version(command, tmp_path):
    module, function = ENTRY_POINTS[command].split(":")
    script = f"import sys; from {module} import {function}; sys.exit({function}(['--version']))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(__version__)


def test_shipped_models_are_found_from_any_folder():
    for path in (DEFAULT_MODEL, DEFAULT_VOICE, DEFAULT_COMPOSER):
        assert path.is_absolute() and path.is_file()
