"""The voice worker plays the voice and composes without torch: the voice and composer files
carry their weights as numpy arrays, and files from before that still play (through torch)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from synth.contract.model_file import read_voice_model
from synth.contract.module_weights import load_module_weights, read_module_weights
from synth.shipped import DEFAULT_VOICE
from synth.voice.mixer import VoiceMixer
from synth.voice.notes import NoteEvent, NoteKind, apply_event
from tests.jack_harness import REPO

COMPOSER = DEFAULT_VOICE.with_name("composer.pt")

WORKER_LOADS = f"""
import sys
from pathlib import Path
import numpy as np
from synth.composer.model import load_composer
from synth.composer.player import ComposeCommand, ComposeKind, ComposerPlayer
from synth.contract.model_file import read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.voice.mixer import VoiceMixer
from synth.voice.notes import NoteEvent, NoteKind, apply_event

model = read_voice_model({str(DEFAULT_VOICE)!r})
mixer = VoiceMixer(load_module_weights({str(DEFAULT_VOICE)!r}), model, seed=0)
player = ComposerPlayer(load_composer(Path({str(COMPOSER)!r})), model.sample_rate,
                        (40, 64))
player.handle(ComposeCommand(ComposeKind.PLAY, 1), now=0)
for event in player.due_events(40000):
    apply_event(mixer.allocator, event)
apply_event(mixer.allocator, NoteEvent(NoteKind.ON, 45, 100))
audio = np.concatenate([mixer.next_block(32) for _ in range(500)])
print(float(np.sqrt(np.mean(audio[4000:] ** 2))), "torch" in sys.modules)
"""


def test_the_voice_and_the_composer_play_without_importing_torch():
    result = subprocess.run([sys.executable, "-c", WORKER_LOADS], capture_output=True,
                            text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    level, torch_imported = result.stdout.split()
    assert float(level) > 1e-3, "the note sounds"
    assert torch_imported == "False"


def _without_weights(source: Path, target: Path) -> None:
    """``source`` as exported before the weights were carried: without weights.npz."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if not item.filename.endswith("/extra/weights.npz"):
                new.writestr(item, old.read(item.filename))


def test_a_voice_file_without_numpy_weights_plays_the_same_through_torch(tmp_path):
    older = tmp_path / "older.pt"
    _without_weights(DEFAULT_VOICE, older)
    assert read_module_weights(older) is None and read_module_weights(DEFAULT_VOICE)
    model = read_voice_model(DEFAULT_VOICE)
    outputs = []
    for path in (DEFAULT_VOICE, older):
        mixer = VoiceMixer(load_module_weights(path), model, seed=5)
        apply_event(mixer.allocator, NoteEvent(NoteKind.ON, 45, 100))
        outputs.append(np.concatenate([mixer.next_block(32) for _ in range(100)]))
    assert np.abs(outputs[0]).max() > 1e-3
    np.testing.assert_array_equal(outputs[0], outputs[1])
