"""The package layout's one hard rule: the stage runtime imports nothing from training."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _synth_modules() -> list[str]:
    return [".".join(path.relative_to(REPO).with_suffix("").parts)
            for path in sorted((REPO / "synth").rglob("*.py")) if path.name != "__main__.py"]


def test_no_synth_source_file_imports_training():
    offenders = []
    for path in (REPO / "synth").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(REPO)}: {name}" for name in names
                          if name == "training" or name.startswith("training.")]
    assert offenders == []


def test_importing_every_synth_module_loads_no_training_module():
    modules = _synth_modules()
    assert "synth.voicebank.samplernn" in modules and "synth.control.listener" in modules
    script = ("import importlib, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'training'))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_the_audio_process_loads_neither_torch_nor_numba():
    """torch (about 200 MB and a second to import) belongs in the decoding and voice workers;
    the process that runs pyo imports what it needs to play, parse OSC and read metadata."""
    audio_process = ["synth.cli", "synth.live", "synth.offline", "synth.voice.player",
                     "synth.control.listener", "synth.control.state_reply"]
    script = ("import importlib, sys\n"
              f"for name in {audio_process!r}:\n"
              "    importlib.import_module(name)\n"
              "print(sorted(m for m in ('torch', 'numba', 'scipy', 'librosa') "
              "if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
