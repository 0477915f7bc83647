"""The Pure Data and Max patches speak exactly the synth's address table."""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from synth.control.addresses import ADDRESS_BY_PATH
from synth.control.listener import OscListener
from tests.jack_harness import (
    REPO,
    JackServer,
    SynthProcess,
    free_udp_port,
    record,
    spectral_distance_db,
    tools_missing,
)

PD_PATCHES = sorted((REPO / "puredata").glob("*.pd"))
MAX_PATCHES = sorted((REPO / "patches").glob("*.maxpat"))
needs_pd = pytest.mark.skipif(shutil.which("pd") is None, reason="Pure Data is not installed")


def pd_records(path: Path) -> list[str]:
    """A .pd file's records (they end with an unescaped ';' and may span lines)."""
    text = path.read_text()
    return [entry.strip().replace("\n", " ")
            for entry in re.split(r"(?<!\\);\n", text) if entry.strip()]


def pd_addresses(path: Path) -> list[tuple[str, int | None]]:
    """(address, argument count if the patch fixes it) for every OSC message a patch sends."""
    found = []
    for entry in pd_records(path):
        words = entry.split()
        if words[:2] == ["#X", "obj"] and words[4:5] == ["oscformat"]:
            found.append(("/" + "/".join(words[5:]), None))
        if "sendtyped" in words:
            position = words.index("sendtyped")
            found.append((words[position + 1], len(words[position + 2])))
    return found


def test_there_are_patches_for_both_environments():
    names = {path.name for path in PD_PATCHES}
    assert {"1-latent-sliders.pd", "1-latent-sliders-mrpeach.pd", "2-xy-pad.pd",
            "3-trajectory.pd", "4-granulator.pd", "6-main.pd"} <= names
    assert len(MAX_PATCHES) >= 5


@pytest.mark.parametrize("path", PD_PATCHES, ids=lambda p: p.name)
def test_pd_patch_sends_only_known_addresses(path):
    addresses = pd_addresses(path)
    assert addresses, "the patch sends nothing"
    for address, count in addresses:
        assert address in ADDRESS_BY_PATH, f"{path.name} sends unknown {address}"
        if count is not None:
            assert ADDRESS_BY_PATH[address].accepts_count(count), (address, count)
    first_text = next(r for r in pd_records(path) if r.startswith("#X text"))
    assert "deepnote" in first_text
    assert any("deepnote-synth" in r for r in pd_records(path)), "say which command to run"
    assert any(re.search(r"#X msg .* connect 127\.0\.0\.1 9000", r) for r in pd_records(path))


def max_boxes(path: Path) -> tuple[dict[str, dict], list[dict]]:
    patcher = json.loads(path.read_text())["patcher"]
    boxes = {entry["box"]["id"]: entry["box"] for entry in patcher["boxes"]}
    return boxes, [entry["patchline"] for entry in patcher["lines"]]


def _arity(box: dict) -> int | None:
    """How many numbers a box sends, where the box itself decides it."""
    if box["maxclass"] == "multislider":
        return box["size"]
    if box["maxclass"] in ("flonum", "number", "slider"):
        return 1
    text = box.get("text", "")
    if text.startswith("pak "):
        return len(text.split()) - 1
    return None


@pytest.mark.parametrize("path", MAX_PATCHES, ids=lambda p: p.name)
def test_max_patch_is_a_valid_patcher_speaking_the_table(path):
    boxes, lines = max_boxes(path)
    for box in boxes.values():
        assert box["id"] and box["maxclass"]
        assert len(box["patching_rect"]) == 4
    for line in lines:
        assert line["source"][0] in boxes and line["destination"][0] in boxes
        assert line["source"][1] < boxes[line["source"][0]]["numoutlets"]
        assert line["destination"][1] < boxes[line["destination"][0]]["numinlets"]
    assert any(b.get("text", "").startswith("udpsend ") for b in boxes.values())
    sent = 0
    for identifier, box in boxes.items():
        text = box.get("text", "")
        if box["maxclass"] == "newobj" and text.startswith("prepend /"):
            address = text.split()[1]
            assert address in ADDRESS_BY_PATH, f"{path.name} sends unknown {address}"
            sources = [boxes[line["source"][0]] for line in lines
                       if line["destination"][0] == identifier]
            for source in sources:
                count = _arity(source)
                if count is not None:
                    assert ADDRESS_BY_PATH[address].accepts_count(count), (address, count)
            sent += 1
        elif box["maxclass"] == "message" and text.startswith("/"):
            words = text.split()
            assert ADDRESS_BY_PATH[words[0]].accepts_count(len(words) - 1)
            sent += 1
    assert sent


EXPECTED_ON_LOAD = {
    "1-latent-sliders.pd": {"/latent"},
    "1-latent-sliders-mrpeach.pd": {"/latent"},
    "2-xy-pad.pd": {"/xy"},
    "3-trajectory.pd": {"/trajectory/xy", "/trajectory/grains", "/scan/speed"},
    "4-granulator.pd": {"/grain/pos", "/grain/pitch", "/grain/dur", "/grain/density",
                        "/grain/jitter", "/volume", "/timbre/bright", "/timbre/noisy",
                        "/timbre/pitched"},
    "5-voice.pd": {"/note", "/voice/volume", "/compose/tempo", "/compose/temperature",
                   "/compose/lines"},
    "6-main.pd": {"/latent", "/xy", "/trajectory/xy", "/trajectory/grains", "/scan/speed",
                  "/grain/pos", "/grain/pitch", "/grain/dur", "/grain/density",
                  "/grain/jitter", "/volume", "/timbre/bright", "/timbre/noisy",
                  "/timbre/pitched", "/note", "/voice/volume", "/compose/tempo",
                  "/compose/temperature", "/compose/lines"},
}


def _with_port(path: Path, port: int, folder: Path) -> Path:
    copy = folder / path.name
    copy.write_text(path.read_text().replace("connect 127.0.0.1 9000",
                                             f"connect 127.0.0.1 {port}"))
    return copy


@needs_pd
@pytest.mark.parametrize("path", PD_PATCHES, ids=lambda p: p.name)
def test_pd_patch_opens_cleanly_and_sends_valid_defaults(path, tmp_path):
    listener = OscListener("127.0.0.1", 0)
    try:
        patch = _with_port(path, listener.port, tmp_path)
        pd = subprocess.Popen(["pd", "-nogui", "-noaudio", "-nomidi", "-stderr", "-open",
                               str(patch)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        received: list = []
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            received.extend(listener.receive(0.1))
        pd.kill()
        output = pd.communicate()[0]
    finally:
        listener.close()
    problems = [line for line in output.splitlines()
                if "error" in line.lower() or "couldn't" in line or "failed" in line]
    assert not problems, problems
    # The listener only forwards messages that passed validation against the table.
    assert {address for address, _, _ in received} == EXPECTED_ON_LOAD[path.name]


@needs_pd
@pytest.mark.skipif(bool(tools_missing()), reason=f"missing {tools_missing()}")
def test_trajectory_patch_changes_what_the_synth_plays(tmp_path):
    from synth.shipped import DEFAULT_MODEL

    jack = JackServer()
    port = free_udp_port()
    synth = SynthProcess(jack, DEFAULT_MODEL, port)
    try:
        synth.wait_for("playing")
        before = record(jack, 1.5, tmp_path / "before.wav")
        again = record(jack, 1.5, tmp_path / "again.wav")
        patch = _with_port(REPO / "puredata" / "3-trajectory.pd", port, tmp_path)
        subprocess.run(["timeout", "2", "pd", "-nogui", "-noaudio", "-nomidi", "-open",
                        str(patch)], capture_output=True)
        time.sleep(1.0)
        after = record(jack, 1.5, tmp_path / "after.wav")
    finally:
        code = synth.interrupt()
        jack.stop()
    assert code == 0
    assert spectral_distance_db(before, after) > max(2.0, 3 * spectral_distance_db(before,
                                                                                    again))


@needs_pd
@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
                    reason="Xvfb and xdotool are needed to drag with a mouse")
def test_xy_pad_drags_with_a_real_mouse(tmp_path):
    display = ":87"
    environment = {**os.environ, "DISPLAY": display}
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1000x1000x24"],
                            stderr=subprocess.DEVNULL)
    listener = OscListener("127.0.0.1", 0)
    pd = None
    try:
        time.sleep(1.0)
        patch = _with_port(REPO / "puredata" / "2-xy-pad.pd", listener.port, tmp_path)
        pd = subprocess.Popen(["pd", "-noaudio", "-nomidi", "-open", str(patch)],
                              env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        windows: list[str] = []
        deadline = time.monotonic() + 20
        while not windows and time.monotonic() < deadline:
            time.sleep(0.5)
            windows = subprocess.run(["xdotool", "search", "--name", "2-xy-pad.pd"],
                                     env=environment, capture_output=True,
                                     text=True).stdout.split()
        assert windows, "Pd's window never appeared"
        window = windows[0]
        time.sleep(1.0)
        while listener.receive(0.2):
            pass  # the defaults sent on load

        def xdo(*arguments: str) -> None:
            subprocess.run(["xdotool", *arguments], env=environment, check=True)

        # The handle starts at the pad's centre: canvas (120, 450) plus the menu bar.
        xdo("mousemove", "--window", window, "120", "480")
        xdo("mousedown", "1")
        for step in range(1, 11):
            xdo("mousemove", "--window", window, str(120 + 6 * step), str(480 - 6 * step))
            time.sleep(0.05)
        xdo("mouseup", "1")
        received: list = []
        for _ in range(10):
            received.extend(listener.receive(0.1))
    finally:
        if pd is not None:
            pd.kill()
        listener.close()
        xvfb.kill()
    pads = [values for address, values, _ in received if address == "/xy"]
    assert pads, "dragging the handle sent nothing"
    x, y = pads[-1]
    assert x > 0.7 and y > 0.7  # right and up from the centre
