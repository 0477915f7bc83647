"""Headless rendering: a score of OSC messages played into a WAV file, as fast as possible.

The server runs in pyo's manual mode and every decode is waited for, so the same model,
score and seed always give the same file.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import soundfile

from synth.contract.model_file import GrainModelInfo
from synth.control.controller import Controller
from synth.control.midi_map import Binding
from synth.control.model_shelf import ModelShelf
from synth.control.presets import PresetStore, default_preset_directory
from synth.control.score import ScoreEvent
from synth.files import atomic_output, audio_format
from synth.grains.decoder import GrainDecoder
from synth.grains.engine import FADE_OUT_SECONDS, GrainEngine, pyo
from synth.grains.latent_space import LatentSpace
from synth.grains.tables import table_samples


@dataclass(frozen=True)
class RenderSettings:
    model_path: Path
    out: Path
    duration: float
    server_rate: int = 48000
    buffer_size: int = 256
    seed: int = 0
    preset_directory: Path | None = None
    preset: str | None = None
    midi_map: tuple[Binding, ...] = ()  # what /midi/cc lines in the score move
    models_directory: Path | None = None  # what /model/grains lines choose from


def render_offline(settings: RenderSettings, model: GrainModelInfo,
                   events: list[ScoreEvent]) -> int:
    """Render ``settings.duration`` seconds; returns the number of tables played.

    The WAV is written beside the target and renamed into place only when complete, so a
    failed render leaves any previous file as it was.
    """
    with atomic_output(settings.out) as partial:
        # pyo writes WAV only, and goes by the file name's extension
        recorded = partial.with_name(partial.name + ".wav")
        try:
            tables = _render(settings, model, events, recorded)
            if not recorded.is_file() or not recorded.stat().st_size:
                raise OSError(f"cannot write {settings.out}: pyo wrote nothing")
            written = audio_format(settings.out)
            if written.format == "WAV":
                os.replace(recorded, partial)
            else:
                audio, rate = soundfile.read(str(recorded), dtype="float32")
                soundfile.write(str(partial), audio, rate, format=written.format,
                                subtype=written.subtype)
        finally:
            recorded.unlink(missing_ok=True)
    return tables


def _render(settings: RenderSettings, model: GrainModelInfo, events: list[ScoreEvent],
            target: Path) -> int:
    server = pyo.Server(sr=settings.server_rate, nchnls=2, buffersize=settings.buffer_size,
                        audio="manual", duplex=0)
    server.deactivateMidi()
    server.setGlobalSeed(settings.seed + 1)  # 0 would mean "seed from the clock"
    server.boot()
    decoder = GrainDecoder(str(settings.model_path), table_samples(model),
                           model.grain_size // 2)
    try:
        decoder.wait_ready()
        engine = GrainEngine(model.sample_rate, settings.server_rate,
                             table_samples(model))
        presets = PresetStore(settings.preset_directory or default_preset_directory())
        shelf = (ModelShelf(settings.models_directory, model, decoder.load)
                 if settings.models_directory is not None else None)
        controller = Controller(engine, LatentSpace(model), decoder.submit, settings.seed,
                                presets, models=shelf)
        for binding in settings.midi_map:
            controller.midi_map.bind(binding)
        server.recordOptions(dur=-1, filename=str(target), fileformat=0, sampletype=3)
        server.start()
        engine.start()
        server.recstart()
        now = 0.0
        controller.play_typical()
        if settings.preset:
            controller.load_preset(settings.preset)
        decoder.wait(lambda table: engine.offer_table(table, now))
        pending = list(events)
        buffers = math.ceil(settings.duration * settings.server_rate / settings.buffer_size)
        fade_at = max(0.0, settings.duration - FADE_OUT_SECONDS)
        fading = False
        for index in range(buffers):
            now = index * settings.buffer_size / settings.server_rate
            while pending and pending[0].time <= now:
                event = pending.pop(0)
                controller.apply(event.address, event.values)
                if controller.switching_to is not None:  # offline, a switch is synchronous
                    answer = decoder.wait_for_model()
                    controller.grains_model_loaded(answer.path, answer.error)
            decoder.wait(functools.partial(engine.offer_table, now=now))
            engine.tick(now)
            if not fading and now >= fade_at:
                engine.fade_out()
                fading = True
            server.process()
        server.recstop()
        server.stop()
        return engine.tables_loaded
    finally:
        decoder.close()
        server.shutdown()

