"""Every path option of every command, given something it cannot use (a missing file, a
folder, a binary file, a path under a file): one line naming that path, exit code 1 or 2,
no traceback, and nothing that was there is changed."""

import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mido
import pytest

from synth.shipped import DEFAULT_COMPOSER, DEFAULT_MODEL, DEFAULT_VOICE

CASE_SECONDS = 120  # a case that starts real work instead of refusing fails, it does not hang


@dataclass(frozen=True)
class Case:
    command: str
    argv: tuple[str, ...]  # "{}" marks where the bad path goes
    kinds: tuple[str, ...]  # missing, folder, binary, under_file, empty_folder


def _cases(places: dict[str, Path]) -> list[Case]:
    grains, voice, composer = str(DEFAULT_MODEL), str(DEFAULT_VOICE), str(DEFAULT_COMPOSER)
    render = str(places["out"] / "render.wav")
    midi, run, chorales = str(places["midi"]), str(places["run"]), str(places["chorales"])
    offline = ("--audio", "offline", "--render", render)
    inputs = ("missing", "folder", "binary")
    outputs = ("folder", "under_file")
    folders = ("missing", "binary", "empty_folder")
    fresh = str(places["out"] / "fresh")
    return [
        Case("synth", ("--model", "{}", *offline, "--no-voice"), inputs),
        Case("synth", ("--model", grains, *offline, "--no-voice", "--score", "{}"), inputs),
        Case("synth", ("--model", grains, *offline, "--voice", voice, "--midi-file", "{}"),
             inputs),
        Case("synth", ("--model", grains, *offline, "--voice", "{}", "--midi-file", midi),
             inputs),
        Case("synth", ("--model", grains, "--audio", "jack", "--voice", voice, "--composer",
                       "{}"), inputs),
        Case("synth", ("--model", grains, "--audio", "offline", "--render", "{}",
                       "--no-voice"), outputs),
        Case("synth", ("--model", grains, *offline, "--no-voice", "--preset", "verse",
                       "--preset-dir", "{}"), ("binary", "empty_folder")),
        Case("compose", ("--model", "{}", "--out", str(places["out"] / "c.mid")), inputs),
        Case("compose", ("--model", composer, "--seed-midi", "{}", "--out",
                         str(places["out"] / "c.mid")), inputs),
        Case("compose", ("--model", composer, "--out", "{}"), outputs),
        Case("train", ("grains", "--data", "{}", "--run-dir", fresh), folders),
        Case("train", ("grains", "--data", str(places["audio"]), "--run-dir", "{}", "--steps",
                       "1"), ("binary", "under_file")),
        Case("train", ("voice", "--data", "{}", "--run-dir", fresh), folders),
        Case("train", ("voice", "--data", str(places["audio"]), "--run-dir", fresh,
                       "--init-from", "{}"), ("missing", "binary", "empty_folder")),
        Case("train", ("voice-data", "--out", "{}", "--notes", "F2"),
             ("binary", "under_file")),
        Case("train", ("voice-data", "--out", fresh, "--notes", "F2", "--soundfont", "{}"),
             inputs),
        Case("train", ("grains-data", "--kind", "percussion", "--out", "{}"),
             ("binary", "under_file")),
        Case("train", ("grains-data", "--kind", "instruments", "--out", fresh, "--soundfont",
                       "{}"), inputs),
        Case("train", ("wavenet", "--data", "{}", "--run-dir", fresh), folders),
        Case("train", ("composer", "--data", "{}", "--run-dir", fresh), folders),
        Case("train", ("composer-data", "--out", "{}"), ("binary", "under_file")),
        Case("eval", ("{}",), folders),
        Case("eval", (run, "--out", "{}"), ("binary", "under_file")),
        Case("eval", (run, "--other", "{}"), folders),
        Case("eval", ("voice", "{}", "--notes", "F2"), inputs),
        Case("eval", ("voice", voice, "--notes", "F2", "--out", "{}"),
             ("binary", "under_file")),
        Case("eval", ("voice", voice, "--notes", "F2", "--soundfont", "{}"), inputs),
        Case("eval", ("voice", voice, "--notes", "F2", "--reference-dir", "{}"), folders),
        Case("eval", ("composer", "{}", "--data", chorales), inputs),
        Case("eval", ("composer", composer, "--data", "{}"), folders),
        Case("eval", ("composer", composer, "--data", chorales, "--out", "{}"),
             ("binary", "under_file")),
        Case("export", ("{}", "--out", str(places["out"] / "x.pt")), folders),
        Case("export", (run, "--out", "{}"), outputs),
        Case("generate", ("{}", "--out", str(places["out"] / "g.wav")), folders),
        Case("generate", (run, "--out", "{}"), outputs),
    ]


def _mains() -> dict[str, Callable[[list[str]], int]]:
    from synth.cli import main as synth_main
    from synth.compose_cli import main as compose_main
    from training.cli import eval_main, export_main, generate_main, train_main

    return {"synth": synth_main, "compose": compose_main, "train": train_main,
            "eval": eval_main, "export": export_main, "generate": generate_main}


def _bad_path(kind: str, where: Path) -> Path:
    where.mkdir(parents=True)
    if kind == "missing":
        return where / "no-such-thing.pt"
    if kind in ("folder", "empty_folder"):
        (where / "a-folder").mkdir()
        return where / "a-folder"
    if kind == "binary":
        (where / "junk.wav").write_bytes(bytes(range(256)) * 64)
        return where / "junk.wav"
    (where / "a-file").write_text("keep me")
    return where / "a-file" / "out.wav"


def _state(root: Path) -> dict[str, bytes | None]:
    return {str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
            for path in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def places(tmp_path_factory, tiny_grain_model, tiny_composer_model,
           small_audio_folder) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("paths")
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("note_on", note=45, velocity=90, time=0))
    track.append(mido.Message("note_off", note=45, time=240))
    midi.save(root / "notes.mid")
    (root / "out").mkdir()
    return {"out": root / "out", "midi": root / "notes.mid", "run": tiny_grain_model.parent / "run",
            "audio": small_audio_folder, "chorales": tiny_composer_model.parent / "chorales"}


def _alarm(signum, frame):
    raise TimeoutError("the command started working instead of refusing its path")


def test_every_path_option_refuses_what_it_cannot_use_in_one_line(places, capsys, tmp_path):
    mains = _mains()
    previous = signal.signal(signal.SIGALRM, _alarm)
    failures, checked = [], 0
    try:
        for number, case in enumerate(_cases(places)):
            for kind in case.kinds:
                where = tmp_path / f"{number}-{kind}"
                bad = _bad_path(kind, where)
                before = _state(where)
                argv = [str(bad) if word == "{}" else word for word in case.argv]
                signal.alarm(CASE_SECONDS)
                try:
                    code = mains[case.command](argv)
                except SystemExit as stopped:
                    code = stopped.code
                except Exception as error:  # listed with the other failures
                    code = f"{type(error).__name__}: {str(error)[:80]}"
                finally:
                    signal.alarm(0)
                err = capsys.readouterr().err
                lines = [line for line in err.splitlines() if line.strip()]
                errors = [line for line in lines if f"deepnote-{case.command}" in line
                          and ": error: " in line]
                problems = []
                if code not in (1, 2):
                    problems.append(f"exit {code}")
                if "Traceback" in err or len(errors) != 1:
                    problems.append(f"stderr {lines[-3:]}")
                elif bad.name not in errors[0] and str(bad.parent.name) not in errors[0]:
                    problems.append(f"does not name the path: {errors[0]}")
                if _state(where) != before:
                    problems.append("changed what was there")
                if (places["out"] / "fresh").exists():
                    problems.append("created the run or data folder it was refused")
                    shutil.rmtree(places["out"] / "fresh")
                if problems:
                    failures.append(f"{case.command} {' '.join(argv)} [{kind}]: "
                                    + "; ".join(problems))
                checked += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not failures, "\n".join(failures)
    assert checked >= 80
