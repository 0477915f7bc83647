"""Writes the deepnote Pure Data patches (vanilla Pd 0.51+).

The .pd files in this folder are the product and can be edited in Pd; this script is how
they were laid out, so that object numbers and connections are computed, not counted by
hand. Run it after changing the OSC address table: ``python puredata/make_patches.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
LATENT_DIM = 16
PAD = 200  # XY pad size in pixels
PATH_POINTS = 16
LOGIC = 1000  # logic objects live below the playing surface (scroll down in Pd)


@dataclass
class Section:
    """A group of Pd objects; ``add`` returns the object's index within the section."""

    lines: list[str] = field(default_factory=list)
    connections: list[tuple[int, int, int, int]] = field(default_factory=list)
    raw_before: list[str] = field(default_factory=list)  # e.g. subpatch definitions

    def add(self, line: str) -> int:
        self.lines.append(line)
        return len(self.lines) - 1

    def obj(self, x: int, y: int, text: str) -> int:
        return self.add(f"#X obj {x} {y} {text};")

    def msg(self, x: int, y: int, text: str) -> int:
        return self.add(f"#X msg {x} {y} {text};")

    def text(self, x: int, y: int, text: str, width: int = 60) -> int:
        escaped = text.replace(",", " \\,").replace(";", " \\;")
        return self.add(f"#X text {x} {y} {escaped}, f {width};")

    def connect(self, source: int, outlet: int, target: int, inlet: int = 0) -> None:
        self.connections.append((source, outlet, target, inlet))


def osc_send(section: Section, x: int, y: int, address: str) -> int:
    """[oscformat a b] feeding the patch's single sender; returns the oscformat index."""
    parts = address.strip("/").split("/")
    formatter = section.obj(x, y, "oscformat " + " ".join(parts))
    sender = section.obj(x, y + 25, "s \\$0-osc")
    section.connect(formatter, 0, sender)
    return formatter


def osc_send_mrpeach(section: Section, x: int, y: int, address: str, count: int) -> int:
    """mrpeach's way, as the original prototype sent: ``sendtyped /address fff... values``."""
    typed = section.obj(x, y, f"list prepend sendtyped {address} {'f' * count}")
    trim = section.obj(x, y + 25, "list trim")
    sender = section.obj(x, y + 50, "s \\$0-osc")
    section.connect(typed, 0, trim)
    section.connect(trim, 0, sender)
    return typed


def header(title: str, what: str, command: str, mrpeach: bool = False) -> Section:
    """Comment, editable host and port, and the one UDP sender of a patch.

    Vanilla Pd sends with [netsend -u -b]; with ``mrpeach`` it is [packOSC] -> [udpsend],
    as the original prototype did.
    """
    s = Section(raw_before=["#X declare -stdpath mrpeach;"] if mrpeach else [])
    s.text(20, 10, f"deepnote - {title}", 70)
    s.text(20, 35, what, 70)
    s.text(20, 85, f"Start the synth first: {command}", 70)
    s.text(20, 120, "Host and port: edit this message (edit mode) then click it:", 70)
    connect = s.msg(20, 150, f"connect {DEFAULT_HOST} {DEFAULT_PORT}")
    load = s.obj(420, 150, "loadbang")
    order = s.obj(420, 175, "t b b")
    defaults_delay = s.obj(420, 200, "delay 200")
    defaults = s.obj(420, 225, "s \\$0-defaults")
    receive = s.obj(230, 150, "r \\$0-osc")
    if mrpeach:
        encoder = s.obj(230, 175, "packOSC")
        sender = s.obj(20, 225, "udpsend")
        s.connect(receive, 0, encoder)
    else:
        prepend = s.obj(230, 175, "list prepend send")
        encoder = s.obj(230, 200, "list trim")
        sender = s.obj(20, 225, "netsend -u -b")
        s.connect(receive, 0, prepend)
        s.connect(prepend, 0, encoder)
    status = s.obj(20, 250, "print deepnote-connected")
    s.connect(load, 0, order)
    s.connect(order, 1, connect)  # connect first, then the defaults
    s.connect(order, 0, defaults_delay)
    s.connect(defaults_delay, 0, defaults)
    s.connect(connect, 0, sender)
    s.connect(encoder, 0, sender)
    s.connect(sender, 0, status)
    return s

def latent_sliders(ox: int, oy: int, mrpeach: bool = False) -> Section:
    """16 vertical sliders, each a quantile of one latent dimension -> /latent."""
    ly = LOGIC + 150  # where this section's logic starts
    s = Section()
    s.text(ox, oy, "Latent point: 16 sliders, each a quantile of the training data along "
           "one dimension (middle = typical). Sends /latent.", 50)
    for index in range(LATENT_DIM):
        x = ox + index * 22
        s.obj(x, oy + 50, f"vsl 18 128 0 1 0 0 \\$0-q{index} \\$0-q-in empty 0 -9 0 10 "
              "#dcdcdc #000000 #000000 0 1")
        # "value index": [unpack] fires right to left, so the index is set first.
        column_x, row_y = ox + (index % 4) * 95, LOGIC + 10 + (index // 4) * 75
        slider = s.obj(column_x, row_y, f"r \\$0-q{index}")
        tag = s.obj(column_x, row_y + 25, f"list append {index}")
        s.connect(slider, 0, tag)
        store = s.obj(column_x, row_y + 50, "s \\$0-dim")
        s.connect(tag, 0, store)
    receive = s.obj(ox, ly + 250, "r \\$0-dim")
    order = s.obj(ox, ly + 275, "t b l")
    unpack = s.obj(ox + 80, ly + 300, "unpack f f")
    write = s.obj(ox + 80, ly + 325, "tabwrite \\$0-latent")
    table = s.obj(ox + 200, ly + 250, f"array define \\$0-latent {LATENT_DIM}")
    get = s.obj(ox, ly + 350, "array get \\$0-latent")
    s.connect(receive, 0, order)
    s.connect(order, 1, unpack)
    s.connect(unpack, 0, write, 0)
    s.connect(unpack, 1, write, 1)  # index (fires first)
    s.connect(order, 0, get)
    if mrpeach:
        formatter = osc_send_mrpeach(s, ox, ly + 375, "/latent", LATENT_DIM)
    else:
        formatter = osc_send(s, ox, ly + 375, "/latent")
    s.connect(get, 0, formatter)
    defaults = s.obj(ox + 200, ly + 300, "r \\$0-defaults")
    middle = s.msg(ox + 200, ly + 325, "0.5")
    to_sliders = s.obj(ox + 200, ly + 350, "s \\$0-q-in")
    s.connect(defaults, 0, middle)
    s.connect(middle, 0, to_sliders)
    del table
    return s


def xy_pad(ox: int, oy: int, template: str) -> Section:
    """A draggable handle on the plane of the first two principal axes -> /xy.

    Vanilla Pd has no XY pad object; a data-structure scalar whose handle corners are drawn
    from its fields ``px`` and ``py`` (0..1) is one: dragging the handle changes them.
    """
    ly = LOGIC + 150  # where this section's logic starts
    s = Section()
    low, high = -6, 6
    corner_x = [f"px(0:1)({low}:{PAD + low})", f"px(0:1)({high}:{PAD + high})"]
    corner_y = [f"py(0:1)({PAD + low}:{low})", f"py(0:1)({PAD + high}:{high})"]
    handle = " ".join([corner_x[0], corner_y[0], corner_x[1], corner_y[0],
                       corner_x[1], corner_y[1], corner_x[0], corner_y[1]])
    s.raw_before = [
        f"#N canvas 0 0 450 250 {template}-template 0;",
        f"#X obj 20 20 struct {template} float x float y float px float py;",
        f"#X obj 20 50 drawpolygon 0 1 0 0 {PAD} 0 {PAD} {PAD} 0 {PAD} 0 0;",
        f"#X obj 20 80 filledpolygon 0 0 1 {handle};",
        "#X obj 20 110 outlet;",
        "#X connect 0 0 3 0;",
        f"#X restore {ox + 260} {ly + 0} pd {template}-template;",
        f"#N canvas 0 0 {PAD + 20} {PAD + 20} {template}-pad 0;",
        f"#X scalar {template} 0 0 0.5 0.5 \\;;",
        f"#X coords 0 0 {PAD} {PAD} {PAD} {PAD} 3 0 0;",  # on parent, name hidden
        f"#X restore {ox} {oy + 50} pd {template}-pad;",
    ]
    # The two canvases above take this section's first two object numbers.
    s.lines = ["<template>", "<pad>"]
    s.text(ox, oy, "XY pad: drag the black square. The plane of the two main directions "
           "of the training sounds. Sends /xy.", 34)
    route = s.obj(ox + 260, ly + 30, "route change")
    get = s.obj(ox + 260, ly + 55, f"get {template} px py")
    clip_x = s.obj(ox + 260, ly + 80, "clip 0 1")
    clip_y = s.obj(ox + 340, ly + 80, "clip 0 1")
    pack = s.obj(ox + 260, ly + 105, "pack f f")
    s.connect(0, 0, route)
    s.connect(route, 0, get)
    s.connect(get, 0, clip_x)
    s.connect(get, 1, clip_y)
    s.connect(clip_x, 0, pack, 0)
    s.connect(clip_y, 0, pack, 1)
    formatter = osc_send(s, ox + 260, ly + 130, "/xy")
    s.connect(pack, 0, formatter)
    defaults = s.obj(ox + 400, ly + 30, "r \\$0-defaults")
    centre = s.msg(ox + 400, ly + 55, "0.5 0.5")
    s.connect(defaults, 0, centre)
    s.connect(centre, 0, formatter)
    return s


def trajectory(ox: int, oy: int) -> Section:
    """A path drawn with the mouse in an array, sent as /trajectory/xy, plus its controls."""
    ly = LOGIC + 150  # where this section's logic starts
    s = Section()
    s.raw_before = [
        f"#N canvas 0 0 450 250 {'(subpatch)'} 0;",
        f"#X array \\$0-path {PATH_POINTS} float 3;",
        "#A 0 " + " ".join(f"{0.5 + 0.35 * __import__('math').sin(i / 2.4):.3f}"
                           for i in range(PATH_POINTS)) + ";",
        "#X coords 0 1 16 0 256 140 1 0 0;",
        f"#X restore {ox} {oy + 95} graph;",
    ]
    s.lines = ["<graph>"]
    s.text(ox, oy, "Trajectory: draw a path with the mouse in the array (left to right is "
           "the path's x, height its y on the XY plane), then click SEND. The synth "
           "decodes grains along it and scans them.", 42)
    s.obj(ox, oy + 255, "bng 30 250 50 0 \\$0-send-path empty SEND 34 15 0 12 #fcc4c4 "
          "#000000 #000000")
    s.obj(ox + 120, oy + 260, "hsl 128 18 2 256 1 0 \\$0-grains \\$0-grains-in grains 0 -9 "
          "0 10 #dcdcdc #000000 #000000 0 1")
    s.obj(ox + 120, oy + 295, "hsl 128 18 -2 2 0 0 \\$0-speed \\$0-speed-in scan_speed 0 "
          "-9 0 10 #dcdcdc #000000 #000000 0 1")
    send = s.obj(ox, ly + 70, "r \\$0-send-path")
    grains = s.obj(ox + 270, ly + 70, "r \\$0-grains")
    speed = s.obj(ox + 270, ly + 130, "r \\$0-speed")
    # The path as x0 y0 x1 y1 ...: x = i / (points - 1), y = the array's value.
    order = s.obj(ox, ly + 100, "t b b b")
    clear = s.msg(ox + 120, ly + 125, "list")
    count = s.msg(ox + 60, ly + 125, f"{PATH_POINTS}")
    until = s.obj(ox + 60, ly + 150, "until")
    counter = s.obj(ox + 60, ly + 175, "f")
    step = s.obj(ox + 100, ly + 175, "+ 1")
    reset = s.msg(ox + 170, ly + 100, "0")
    split = s.obj(ox + 60, ly + 200, "t f f")
    scale = s.obj(ox + 60, ly + 225, f"/ {PATH_POINTS - 1}")
    read = s.obj(ox + 140, ly + 225, "tabread \\$0-path")
    pair = s.obj(ox + 60, ly + 275, "pack f f")
    accumulate = s.obj(ox + 60, ly + 300, "list prepend")
    keep = s.obj(ox + 60, ly + 325, "t a a")
    hold = s.obj(ox, ly + 350, "list")
    s.connect(send, 0, order)
    s.connect(order, 2, clear)
    s.connect(order, 2, reset)
    s.connect(clear, 0, accumulate, 1)
    s.connect(reset, 0, counter, 1)
    s.connect(order, 1, count)
    s.connect(count, 0, until)
    s.connect(until, 0, counter)
    s.connect(counter, 0, step)
    s.connect(step, 0, counter, 1)
    s.connect(counter, 0, split)
    s.connect(split, 1, read)
    s.connect(split, 0, scale)
    s.connect(read, 0, pair, 1)
    s.connect(scale, 0, pair, 0)
    s.connect(pair, 0, accumulate, 0)
    s.connect(accumulate, 0, keep)
    s.connect(keep, 1, accumulate, 1)
    s.connect(keep, 0, hold, 1)
    s.connect(order, 0, hold, 0)
    path_out = osc_send(s, ox, ly + 375, "/trajectory/xy")
    s.connect(hold, 0, path_out)
    grains_out = osc_send(s, ox + 270, ly + 95, "/trajectory/grains")
    s.connect(grains, 0, grains_out)
    speed_out = osc_send(s, ox + 270, ly + 155, "/scan/speed")
    s.connect(speed, 0, speed_out)
    defaults = s.obj(ox + 270, ly + 220, "r \\$0-defaults")
    sequence = s.obj(ox + 270, ly + 245, "t b b b")
    grains_default = s.msg(ox + 400, ly + 270, "64")
    speed_default = s.msg(ox + 340, ly + 270, "0.25")
    s.connect(defaults, 0, sequence)
    s.connect(sequence, 2, grains_default)
    s.connect(sequence, 1, speed_default)
    grains_in = s.obj(ox + 400, ly + 295, "s \\$0-grains-in")
    speed_in = s.obj(ox + 340, ly + 320, "s \\$0-speed-in")
    s.connect(sequence, 0, order)
    s.connect(grains_default, 0, grains_in)
    s.connect(speed_default, 0, speed_in)
    return s


GRANULATOR_CONTROLS = (
    # label, address, low, high, logarithmic, default
    ("position", "/grain/pos", 0.0, 1.0, False, 0.5),
    ("pitch", "/grain/pitch", 0.25, 4.0, True, 1.0),
    ("duration_s", "/grain/dur", 0.01, 0.5, True, 0.08),
    ("density_per_s", "/grain/density", 2.0, 200.0, True, 40.0),
    ("jitter", "/grain/jitter", 0.0, 1.0, False, 0.05),
    ("volume", "/volume", 0.0, 1.0, False, 0.7),
)


TIMBRE_CONTROLS = (
    # label, address, low, high, logarithmic, default
    ("bright", "/timbre/bright", -1.0, 1.0, False, 0.0),
    ("noisy", "/timbre/noisy", -1.0, 1.0, False, 0.0),
    ("pitched", "/timbre/pitched", -1.0, 1.0, False, 0.0),
)


def granulator(ox: int, oy: int) -> Section:
    """One slider per granulator control, and a PANIC button."""
    ly = LOGIC + 150  # where this section's logic starts
    s = Section()
    s.text(ox, oy, "Granulator: where grains are read, their pitch, length, "
           "how many per second, how scattered, and the output volume.", 45)
    sliders(s, ox, oy, ly, GRANULATOR_CONTROLS)
    s.obj(ox, oy + 330, "bng 30 250 50 0 \\$0-panic empty PANIC 34 15 0 12 #fc4444 "
          "#000000 #000000")
    panic = s.obj(ox, ly + 470, "r \\$0-panic")
    no_arguments = s.msg(ox, ly + 500, "list")
    s.connect(panic, 0, no_arguments)
    panic_out = osc_send(s, ox, ly + 525, "/panic")
    s.connect(no_arguments, 0, panic_out)
    return s


def timbre(ox: int, oy: int) -> Section:
    """The model's timbre axes (-1..1, 0 = the point as set)."""
    s = Section()
    s.text(ox, oy, "Timbre: move the sound along the model's own axes (brighter, noisier, "
           "more pitched); 0 = the point or path as set.", 40)
    sliders(s, ox, oy, LOGIC + 150, TIMBRE_CONTROLS)
    return s


LEARN_TARGETS = ("/grain/pitch", "/grain/dur", "/grain/density", "/volume", "/timbre/bright",
                 "/timbre/noisy", "/timbre/pitched")


def midi_learn(ox: int, oy: int) -> Section:
    """Click a control's name, then move a knob: /midi/learn ADDRESS [index]."""
    s = Section()
    s.text(ox, oy, "MIDI learn (synth started with --midi-control PORT): click, then move "
           "a knob on your controller.", 40)
    learn = osc_send(s, ox + 150, LOGIC + 700, "/midi/learn")
    targets = [f"symbol {address}" for address in LEARN_TARGETS]
    targets += ["list /xy 0", "list /xy 1", "list /latent/dim 0", "list /latent/dim 1"]
    for index, text in enumerate(targets):
        box = s.msg(ox, oy + 50 + index * 25, text)
        s.connect(box, 0, learn)
    forget = s.msg(ox, oy + 60 + len(targets) * 25, "list")
    s.text(ox + 45, oy + 60 + len(targets) * 25, "forget all", 12)
    s.connect(forget, 0, osc_send(s, ox + 150, LOGIC + 760, "/midi/forget"))
    s.text(ox + 130, oy + 50, "Models: switch to a grains model of the synth's --models-dir "
           "(edit the name)", 20)
    model = s.msg(ox + 130, oy + 110, "symbol grains")
    s.connect(model, 0, osc_send(s, ox + 300, LOGIC + 700, "/model/grains"))
    voice_model = s.msg(ox + 130, oy + 140, "symbol voice")
    s.connect(voice_model, 0, osc_send(s, ox + 300, LOGIC + 760, "/model/voice"))
    return s


def sliders(s: Section, ox: int, oy: int, ly: int, controls: tuple) -> None:
    """A slider and number box per control, each sending its address; set on load."""
    defaults = s.obj(ox + 200, ly + 100, "r \\$0-defaults")
    fan = s.obj(ox + 200, ly + 125, "t " + " ".join("b" for _ in controls))
    s.connect(defaults, 0, fan)
    for index, (label, address, low, high, log, default) in enumerate(controls):
        y = oy + 60 + index * 45
        name = f"\\$0-{address.strip('/').replace('/', '-')}"
        s.obj(ox, y, f"hsl 160 18 {low} {high} {int(log)} 0 {name} {name}-in {label} "
              "0 -9 0 10 #dcdcdc #000000 #000000 0 1")
        s.add(f"#X floatatom {ox + 170} {y} 6 0 0 0 - {name} - 0;")
        slider = s.obj(ox + index * 15, ly + 130 + index * 50, f"r {name}")
        formatter = osc_send(s, ox + index * 15, ly + 155 + index * 50, address)
        s.connect(slider, 0, formatter)
        preset = s.msg(ox + 200 + index * 40, ly + 150, f"{default:g}")
        to_slider = s.obj(ox + 200 + index * 40, ly + 175 + (index % 2) * 25, f"s {name}-in")
        s.connect(fan, len(controls) - 1 - index, preset)
        s.connect(preset, 0, to_slider)


VOICE_KEYS = (("F2", 41), ("G2", 43), ("A2", 45), ("Bb2", 46), ("C3", 48), ("D3", 50),
              ("F3", 53))


def voice_keys(ox: int, oy: int) -> Section:
    """Note buttons, velocity, length and sustain for the voice; a MIDI keyboard forwarded."""
    ly = LOGIC + 150
    s = Section()
    s.text(ox, oy, "Voice: click a note to play it on the autoregressive voice (/note). "
           "Velocity and length apply to the next click. Hold = sustain pedal.", 60)
    s.text(ox, oy + 55, "Or play a MIDI keyboard into Pd (Media > MIDI Settings) with "
           "'forward MIDI' on.", 60)
    velocity_name, length_name = "\\$0-velocity", "\\$0-length"
    s.obj(ox, oy + 110, f"hsl 160 18 1 127 0 0 {velocity_name} {velocity_name}-in velocity "
          "0 -9 0 10 #dcdcdc #000000 #000000 0 1")
    s.add(f"#X floatatom {ox + 170} {oy + 110} 5 0 0 0 - {velocity_name} - 0;")
    s.obj(ox, oy + 155, f"hsl 160 18 50 4000 1 0 {length_name} {length_name}-in "
          "length_ms 0 -9 0 10 #dcdcdc #000000 #000000 0 1")
    s.add(f"#X floatatom {ox + 170} {oy + 155} 5 0 0 0 - {length_name} - 0;")
    keys = []
    for index, (label, note) in enumerate(VOICE_KEYS):
        keys.append(s.msg(ox + index * 45, oy + 200, str(note)))
        s.text(ox + index * 45, oy + 225, label, 4)
    # Logic: a clicked note -> /note n velocity now, /note n 0 after the length.
    played = s.obj(ox, ly, "t f f")
    for key in keys:
        s.connect(key, 0, played)
    velocity = s.obj(ox + 150, ly, f"r {velocity_name}")
    note_on = s.obj(ox, ly + 50, "pack f 100")
    s.connect(velocity, 0, note_on, 1)
    s.connect(played, 1, note_on)
    later = s.obj(ox + 80, ly + 50, "pipe 800")
    length = s.obj(ox + 250, ly, f"r {length_name}")
    s.connect(length, 0, later, 1)
    s.connect(played, 0, later)
    note_off = s.obj(ox + 80, ly + 75, "pack f 0")
    s.connect(later, 0, note_off)
    send_note = osc_send(s, ox, ly + 110, "/note")
    s.connect(note_on, 0, send_note)
    s.connect(note_off, 0, send_note)
    # Sustain and all notes off.
    s.obj(ox, oy + 270, "tgl 25 0 \\$0-hold empty hold 30 12 0 12 #fcfcfc #000000 #000000 "
          "0 1")
    hold = s.obj(ox + 300, ly, "r \\$0-hold")
    send_hold = osc_send(s, ox + 300, ly + 30, "/note/sustain")
    s.connect(hold, 0, send_hold)
    s.obj(ox + 120, oy + 270, "bng 25 250 50 0 \\$0-all-off empty all_notes_off 30 12 0 "
          "12 #fcfcfc #000000 #000000")
    all_off = s.obj(ox + 450, ly, "r \\$0-all-off")
    no_arguments = s.msg(ox + 450, ly + 30, "list")
    s.connect(all_off, 0, no_arguments)
    send_all_off = osc_send(s, ox + 450, ly + 60, "/note/all_off")
    s.connect(no_arguments, 0, send_all_off)
    # A MIDI keyboard through Pd: note-ons/offs and the sustain pedal, when forwarding.
    s.obj(ox + 300, oy + 270, "tgl 25 0 \\$0-forward empty forward_MIDI 30 12 0 12 "
          "#fcfcfc #000000 #000000 0 1")
    midi_in = s.obj(ox, ly + 200, "notein")
    midi_pair = s.obj(ox, ly + 225, "pack f f")
    s.connect(midi_in, 1, midi_pair, 1)
    s.connect(midi_in, 0, midi_pair)
    gate = s.obj(ox, ly + 250, "spigot")
    forward = s.obj(ox + 150, ly + 200, "r \\$0-forward")
    s.connect(forward, 0, gate, 1)
    s.connect(midi_pair, 0, gate)
    s.connect(gate, 0, send_note)
    pedal_in = s.obj(ox + 300, ly + 200, "ctlin 64")
    pedal_gate = s.obj(ox + 300, ly + 225, "spigot")
    s.connect(forward, 0, pedal_gate, 1)
    s.connect(pedal_in, 0, pedal_gate)
    pedal_down = s.obj(ox + 300, ly + 250, ">= 64")
    s.connect(pedal_gate, 0, pedal_down)
    s.connect(pedal_down, 0, send_hold)
    # Defaults on load: velocity 100, 800 ms, voice volume 0.7, and A2 played once.
    defaults = s.obj(ox + 550, ly, "r \\$0-defaults")
    fan = s.obj(ox + 550, ly + 25, "t b b b b")
    s.connect(defaults, 0, fan)
    for outlet, (value, target) in enumerate(((45, None), (800, f"{length_name}-in"),
                                              (100, f"{velocity_name}-in"))):
        message = s.msg(ox + 550 + outlet * 60, ly + 50, str(value))
        s.connect(fan, outlet, message)
        if target is None:
            s.connect(message, 0, played)
        else:
            s.connect(message, 0, s.obj(ox + 550 + outlet * 60, ly + 75, f"s {target}"))
    volume = s.msg(ox + 750, ly + 50, "0.7")
    s.connect(fan, 3, volume)
    send_volume = osc_send(s, ox + 750, ly + 75, "/voice/volume")
    s.connect(volume, 0, send_volume)
    return s


COMPOSER_CONTROLS = (  # label, address, low, high, default
    ("tempo_bpm", "/compose/tempo", 40, 200, 90),
    ("temperature", "/compose/temperature", 0.1, 1.5, 0.4),
    ("lines", "/compose/lines", 1, 4, 1),
)


def composer_controls(ox: int, oy: int) -> Section:
    """Start and stop the LSTM composer improvising on the voice; tempo, temperature, lines."""
    ly = LOGIC + 450
    s = Section()
    s.text(ox, oy, "Composer: the LSTM improvises chorale-like phrases on the voice "
           "(/compose/play, /compose/stop).", 45)
    s.obj(ox, oy + 60, "bng 30 250 50 0 \\$0-compose-play empty play 34 15 0 12 #a0e0a0 "
          "#000000 #000000")
    s.obj(ox + 110, oy + 60, "bng 30 250 50 0 \\$0-compose-stop empty stop 34 15 0 12 "
          "#fcfcfc #000000 #000000")
    for index, (address, name) in enumerate((("/compose/play", "play"),
                                             ("/compose/stop", "stop"))):
        pressed = s.obj(ox + index * 150, ly, f"r \\$0-compose-{name}")
        no_arguments = s.msg(ox + index * 150, ly + 25, "list")
        s.connect(pressed, 0, no_arguments)
        s.connect(no_arguments, 0, osc_send(s, ox + index * 150, ly + 50, address))
    defaults = s.obj(ox + 300, ly, "r \\$0-defaults")
    fan = s.obj(ox + 300, ly + 25, "t " + " ".join("b" for _ in COMPOSER_CONTROLS))
    s.connect(defaults, 0, fan)
    for index, (label, address, low, high, default) in enumerate(COMPOSER_CONTROLS):
        y = oy + 115 + index * 40
        name = f"\\$0-{address.strip('/').replace('/', '-')}"
        s.obj(ox, y, f"hsl 160 18 {low} {high} 0 0 {name} {name}-in {label} "
              "0 -9 0 10 #dcdcdc #000000 #000000 0 1")
        s.add(f"#X floatatom {ox + 170} {y} 6 0 0 0 - {name} - 0;")
        slider = s.obj(ox + index * 150, ly + 100, f"r {name}")
        if address == "/compose/lines":
            whole = s.obj(ox + index * 150, ly + 125, "i")
            s.connect(slider, 0, whole)
            slider = whole
        s.connect(slider, 0, osc_send(s, ox + index * 150, ly + 150, address))
        preset = s.msg(ox + 300 + index * 50, ly + 50, f"{default:g}")
        s.connect(fan, len(COMPOSER_CONTROLS) - 1 - index, preset)
        s.connect(preset, 0, s.obj(ox + 300 + index * 50, ly + 75, f"s {name}-in"))
    return s


def assemble(title: str, what: str, sections: list[Section], structs: list[str],
             size: tuple[int, int] = (900, 700), mrpeach: bool = False) -> str:
    """One patch file: the header's sender plus the sections, numbered in file order."""
    command = "deepnote-synth (OSC on 127.0.0.1:9000 by default)"
    all_sections = [header(title, what, command, mrpeach), *sections]
    lines = [f"#N struct {struct};" for struct in structs]
    lines.append(f"#N canvas 40 40 {size[0]} {size[1]} 12;")
    connects = []
    offset = 0
    for section in all_sections:
        raw = list(section.raw_before)
        body = [line for line in section.lines if not line.startswith("<")]
        lines.extend(raw)
        lines.extend(body)
        connects.extend(f"#X connect {a + offset} {o} {b + offset} {i};"
                        for a, o, b, i in section.connections)
        offset += len(section.lines)
    return "\n".join(lines + connects) + "\n"


def write_all() -> None:
    patches = {
        "1-latent-sliders.pd": ("1. latent sliders", "Sixteen sliders move the latent "
                                "point the grains are decoded from.",
                                [latent_sliders(20, 300)], []),
        "1-latent-sliders-mrpeach.pd": ("1. latent sliders (mrpeach)", "Patch 1 sending "
                                        "with mrpeach's packOSC and udpsend, as the "
                                        "original prototype did.",
                                        [latent_sliders(20, 300, mrpeach=True)], []),
        "2-xy-pad.pd": ("2. XY pad", "Drag through the sound map: the two main directions "
                        "of the training sounds.", [xy_pad(20, 300, "dn-xy-pad")],
                        ["dn-xy-pad float x float y float px float py"]),
        "3-trajectory.pd": ("3. trajectory", "Draw a path through the sound map and let the "
                            "synth scan it.", [trajectory(20, 300)], []),
        "4-granulator.pd": ("4. granulator", "The granulator's controls, a panic button and "
                            "the model's timbre axes.", [granulator(20, 300), timbre(400, 300)],
                            []),
        "5-voice.pd": ("5. voice", "Play the autoregressive voice without a MIDI device "
                       "(/note), or forward a MIDI keyboard from Pd; let the composer "
                       "improvise on it.",
                       [voice_keys(20, 300), composer_controls(20, 620)], []),
        "6-main.pd": ("6. main (stage)", "Everything on one screen: latent sliders, "
                      "XY pad, trajectory, granulator, the voice and the composer.",
                      [latent_sliders(20, 300), xy_pad(420, 300, "dn-xy-main"),
                       trajectory(700, 300), granulator(1060, 300), timbre(1330, 300),
                       voice_keys(700, 660), composer_controls(1100, 730),
                       midi_learn(1330, 560)],
                      ["dn-xy-main float x float y float px float py"]),
    }
    for name, (title, what, sections, structs) in patches.items():
        size = (1600, 980) if name.startswith("6") else (760, 900)
        text = assemble(title, what, sections, structs, size, mrpeach="mrpeach" in name)
        (HERE / name).write_text(text)


if __name__ == "__main__":
    write_all()
