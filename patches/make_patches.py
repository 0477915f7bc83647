"""Writes the deepnote Max patches (.maxpat, Max's JSON patcher format).

Max cannot run where deepnote is built, so the patches keep to objects that ship with Max
(udpsend, multislider, pictslider, function, slider, flonum, number, button, message,
prepend, pak, scale, loadbang) and to the plain patcher format. Every patch has an editable
host and port (messages to [udpsend]) and sends its defaults on load.
Run after changing the OSC address table: ``python patches/make_patches.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST, PORT = "127.0.0.1", 9000
LATENT_DIM = 16


@dataclass
class Patcher:
    boxes: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def box(self, maxclass: str, x: float, y: float, width: float = 100.0,
            height: float = 22.0, inlets: int = 1, outlets: int = 0, **attributes: Any) -> str:
        identifier = f"obj-{len(self.boxes) + 1}"
        self.boxes.append({"box": {
            "id": identifier, "maxclass": maxclass, "numinlets": inlets,
            "numoutlets": outlets, "patching_rect": [x, y, width, height], **attributes}})
        return identifier

    def obj(self, text: str, x: float, y: float, inlets: int = 1, outlets: int = 1,
            width: float | None = None) -> str:
        return self.box("newobj", x, y, width or 8.0 * len(text) + 20, 22.0, inlets, outlets,
                        text=text, outlettype=[""] * outlets)

    def message(self, text: str, x: float, y: float) -> str:
        return self.box("message", x, y, 8.0 * len(text) + 20, 22.0, 2, 1, text=text,
                        outlettype=[""])

    def comment(self, text: str, x: float, y: float, width: float = 420.0) -> str:
        return self.box("comment", x, y, width, 20.0 * (1 + len(text) // 60), 1, 0,
                        text=text, linecount=1 + len(text) // 60)

    def connect(self, source: str, outlet: int, target: str, inlet: int = 0) -> None:
        self.lines.append({"patchline": {"source": [source, outlet],
                                         "destination": [target, inlet]}})

    def to_json(self, width: float = 900.0, height: float = 700.0) -> str:
        return json.dumps({"patcher": {
            "fileversion": 1,
            "appversion": {"major": 8, "minor": 5, "revision": 0, "architecture": "x64",
                           "modernui": 1},
            "classnamespace": "box",
            "rect": [80.0, 80.0, width, height],
            "bglocked": 0,
            "openinpresentation": 0,
            "default_fontsize": 12.0,
            "default_fontface": 0,
            "default_fontname": "Arial",
            "gridonopen": 1,
            "gridsize": [15.0, 15.0],
            "boxes": self.boxes,
            "lines": self.lines,
        }}, indent=1) + "\n"


def sender(p: Patcher, title: str, what: str) -> tuple[str, str]:
    """Title, editable host/port and the [udpsend]; returns (udpsend id, loadbang trigger)."""
    p.comment(f"deepnote - {title}", 20, 10)
    p.comment(what, 20, 32, 520)
    p.comment("Start the synth first: deepnote-synth (OSC on 127.0.0.1:9000). "
              "Edit host and port below, then click them.", 20, 70, 520)
    host = p.message(f"host {HOST}", 20, 110)
    port = p.message(f"port {PORT}", 160, 110)
    udpsend = p.obj(f"udpsend {HOST} {PORT}", 20, 600, inlets=1, outlets=0)
    p.connect(host, 0, udpsend)
    p.connect(port, 0, udpsend)
    load = p.obj("loadbang", 300, 110, inlets=1, outlets=1)
    delay = p.obj("delay 200", 300, 140, inlets=2, outlets=1)
    p.connect(load, 0, delay)
    return udpsend, delay


def latent(p: Patcher, ox: float, oy: float, udpsend: str, start: str) -> None:
    p.comment("Latent point: 16 sliders, each a quantile of the training data along one "
              "dimension (middle = typical). Sends /latent.", ox, oy, 380)
    sliders = p.box("multislider", ox, oy + 45, 352.0, 140.0, 1, 2, size=LATENT_DIM,
                    setminmax=[0.0, 1.0], setstyle=0, orientation=1, ghostbar=0,
                    outlettype=["", ""])
    prepend = p.obj("prepend /latent", ox, oy + 200)
    defaults = p.message(" ".join(["0.5"] * LATENT_DIM), ox, oy + 230)
    p.connect(sliders, 0, prepend)
    p.connect(prepend, 0, udpsend)
    p.connect(start, 0, defaults)
    p.connect(defaults, 0, sliders)


def xy(p: Patcher, ox: float, oy: float, udpsend: str, start: str) -> None:
    p.comment("XY pad: the plane of the two main directions of the training sounds. "
              "Sends /xy.", ox, oy, 260)
    pad = p.box("pictslider", ox, oy + 45, 200.0, 200.0, 2, 2, outlettype=["int", "int"])
    scale_x = p.obj("scale 0 127 0. 1.", ox, oy + 260, inlets=6, outlets=1)
    scale_y = p.obj("scale 0 127 0. 1.", ox + 140, oy + 260, inlets=6, outlets=1)
    pair = p.obj("pak 0. 0.", ox, oy + 290, inlets=2, outlets=1)
    prepend = p.obj("prepend /xy", ox, oy + 320)
    centre = p.message("64 64", ox + 140, oy + 320)
    p.connect(pad, 0, scale_x)
    p.connect(pad, 1, scale_y)
    p.connect(scale_x, 0, pair, 0)
    p.connect(scale_y, 0, pair, 1)
    p.connect(pair, 0, prepend)
    p.connect(prepend, 0, udpsend)
    p.connect(start, 0, centre)
    p.connect(centre, 0, pad)


def trajectory(p: Patcher, ox: float, oy: float, udpsend: str, start: str) -> None:
    p.comment("Trajectory: drag points in the panel (click to add, shift-click to remove), "
              "then SEND. x is the path's x, height its y on the XY plane. Sends "
              "/trajectory/xy; grains and scan speed below.", ox, oy, 320)
    panel = p.box("function", ox, oy + 60, 300.0, 150.0, 1, 4, domain=1.0, range=[0.0, 1.0],
                  addpoints=[0.0, 0.2, 0, 0.35, 0.8, 0, 0.65, 0.3, 0, 1.0, 0.7, 0],
                  outlettype=["float", "", "", "bang"])
    send = p.box("button", ox, oy + 225, 30.0, 30.0, 1, 1, outlettype=["bang"])
    p.comment("SEND", ox + 35, oy + 230, 60)
    dump = p.message("listdump", ox, oy + 265)
    prepend = p.obj("prepend /trajectory/xy", ox, oy + 295)
    p.connect(send, 0, dump)
    p.connect(dump, 0, panel)
    p.connect(panel, 1, prepend)
    p.connect(prepend, 0, udpsend)
    grains = p.box("number", ox + 170, oy + 225, 60.0, 22.0, 1, 2, minimum=2, maximum=512,
                   outlettype=["", "bang"])
    p.comment("grains", ox + 235, oy + 225, 60)
    grains_out = p.obj("prepend /trajectory/grains", ox + 170, oy + 330)
    speed = p.box("flonum", ox + 170, oy + 255, 60.0, 22.0, 1, 2, minimum=-4.0, maximum=4.0,
                  outlettype=["", "bang"])
    p.comment("scan speed", ox + 235, oy + 255, 80)
    speed_out = p.obj("prepend /scan/speed", ox + 170, oy + 360)
    p.connect(grains, 0, grains_out)
    p.connect(speed, 0, speed_out)
    p.connect(grains_out, 0, udpsend)
    p.connect(speed_out, 0, udpsend)
    order = p.obj("t b b b", ox, oy + 390, inlets=1, outlets=3)
    grains_default = p.message("64", ox + 80, oy + 420)
    speed_default = p.message("0.25", ox + 130, oy + 420)
    p.connect(start, 0, order)
    p.connect(order, 2, grains_default)
    p.connect(order, 1, speed_default)
    p.connect(order, 0, send)
    p.connect(grains_default, 0, grains)
    p.connect(speed_default, 0, speed)


Control = tuple[str, str, float, float, float]  # label, address, low, high, default


def number_controls(p: Patcher, controls: tuple[Control, ...], ox: float, top: float,
                    spacing: float, udpsend: str, start: str) -> None:
    """A number box per control, each sending its address, set to its default on load."""
    order = p.obj("t " + " ".join("b" for _ in controls), ox + 200, top + 285,
                  outlets=len(controls))
    p.connect(start, 0, order)
    for index, (label, address, low, high, default) in enumerate(controls):
        y = top + index * spacing
        dial = p.box("flonum", ox, y, 70.0, 22.0, 1, 2, minimum=low, maximum=high,
                     outlettype=["", "bang"])
        p.comment(f"{label} ({low:g}..{high:g})", ox + 80, y, 190)
        prepend = p.obj(f"prepend {address}", ox + 275, y)
        p.connect(dial, 0, prepend)
        p.connect(prepend, 0, udpsend)
        preset = p.message(f"{default:g}", ox + 200 + index * 45, top + 315)
        p.connect(order, len(controls) - 1 - index, preset)
        p.connect(preset, 0, dial)


GRANULATOR: tuple[Control, ...] = (
    # label, address, low, high, default
    ("position", "/grain/pos", 0.0, 1.0, 0.5),
    ("pitch", "/grain/pitch", 0.25, 4.0, 1.0),
    ("duration (s)", "/grain/dur", 0.01, 0.5, 0.08),
    ("density (grains/s)", "/grain/density", 2.0, 200.0, 40.0),
    ("jitter", "/grain/jitter", 0.0, 1.0, 0.05),
    ("volume", "/volume", 0.0, 1.0, 0.7),
)


TIMBRE: tuple[Control, ...] = (
    # label, address, low, high, default
    ("bright", "/timbre/bright", -1.0, 1.0, 0.0),
    ("noisy", "/timbre/noisy", -1.0, 1.0, 0.0),
    ("pitched", "/timbre/pitched", -1.0, 1.0, 0.0),
)


def granulator(p: Patcher, ox: float, oy: float, udpsend: str, start: str) -> None:
    p.comment("Granulator: read position, pitch, grain length, grains per second, "
              "scatter, volume, and PANIC. Below: the model's timbre axes (0 = as set).",
              ox, oy, 320)
    number_controls(p, GRANULATOR, ox, oy + 45, 40, udpsend, start)
    panic = p.message("/panic", ox, oy + 300)
    p.connect(panic, 0, udpsend)
    number_controls(p, TIMBRE, ox, oy + 360, 35, udpsend, start)


COMPOSER: tuple[Control, ...] = (
    # label, address, low, high, default
    ("tempo (bpm)", "/compose/tempo", 40.0, 200.0, 90.0),
    ("temperature", "/compose/temperature", 0.1, 1.5, 0.4),
)


def voice(p: Patcher, ox: float, oy: float, udpsend: str, start: str) -> None:
    p.comment("Voice: click a key to play the autoregressive voice (/note; click again = note "
              "off). Composer: the LSTM improvises on the voice.", ox, oy, 360)
    # Polyphonic mode: a click turns a key on, the next click turns it off (velocity 0).
    keys = p.box("kslider", ox, oy + 50, 336.0, 53.0, 2, 2, offset=36, range=36, mode=1,
                 outlettype=["int", "int"])
    pair = p.obj("pack 0 0", ox, oy + 115, inlets=2, outlets=1)
    note = p.obj("prepend /note", ox, oy + 145)
    p.connect(keys, 1, pair, 1)
    p.connect(keys, 0, pair, 0)
    p.connect(pair, 0, note)
    p.connect(note, 0, udpsend)
    all_off = p.message("/note/all_off", ox + 200, oy + 115)
    p.connect(all_off, 0, udpsend)
    play = p.message("/compose/play", ox, oy + 190)
    stop = p.message("/compose/stop", ox + 130, oy + 190)
    p.connect(play, 0, udpsend)
    p.connect(stop, 0, udpsend)
    number_controls(p, COMPOSER, ox, oy + 225, 35, udpsend, start)


LEARN_TARGETS = ("/grain/pitch", "/grain/dur", "/grain/density", "/grain/pos", "/volume",
                 "/timbre/bright", "/timbre/noisy", "/timbre/pitched", "/scan/speed")


def midi_learn(p: Patcher, ox: float, oy: float, udpsend: str, start: str) -> None:
    p.comment("MIDI learn (synth started with --midi-control PORT): click a control, then "
              "move a knob or fader on your controller. /midi/forget drops every binding.",
              ox, oy, 360)
    targets = [f"/midi/learn {address}" for address in LEARN_TARGETS]
    targets += ["/midi/learn /xy 0", "/midi/learn /xy 1", "/midi/learn /latent/dim 0",
                "/midi/learn /latent/dim 1", "/midi/forget"]
    for index, text in enumerate(targets):
        column, row = divmod(index, 7)
        box = p.message(text, ox + column * 190, oy + 50 + row * 30)
        p.connect(box, 0, udpsend)
    p.comment("Models: switch to another grains model of the synth's --models-dir (edit "
              "the name; the shipped one is 'grains').", ox, oy + 290, 360)
    model = p.message("/model/grains grains", ox, oy + 335)
    p.connect(model, 0, udpsend)
    voice_model = p.message("/model/voice voice", ox + 190, oy + 335)
    p.connect(voice_model, 0, udpsend)


def write_all() -> None:
    sections = {
        "deepnote-latent.maxpat": ("latent sliders", [latent]),
        "deepnote-xy.maxpat": ("XY pad", [xy]),
        "deepnote-trajectory.maxpat": ("trajectory", [trajectory]),
        "deepnote-granulator.maxpat": ("granulator", [granulator]),
        "deepnote-voice.maxpat": ("voice and composer", [voice]),
        "deepnote-main.maxpat": ("main (stage)", [latent, xy, trajectory, granulator, voice,
                                                  midi_learn]),
    }
    for name, (title, builders) in sections.items():
        patcher = Patcher()
        udpsend, start = sender(patcher, title, "A control surface for deepnote-synth.")
        for index, build in enumerate(builders):
            build(patcher, 20 + index * 400, 160, udpsend, start)
        width = 420 + 400 * (len(builders) - 1) + 100
        (HERE / name).write_text(patcher.to_json(width=width, height=900))


if __name__ == "__main__":
    write_all()
