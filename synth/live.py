"""Live playing: a pyo server on a sound card or JACK, driven by the OSC listener."""

from __future__ import annotations

import functools
import logging
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from synth.contract.model_file import GrainModelInfo, VoiceModelInfo
from synth.control.controller import Controller
from synth.control.listener import OscListener
from synth.control.midi_map import Binding
from synth.control.model_shelf import ModelShelf
from synth.control.oscquery import OscQueryServer
from synth.control.presets import PresetStore, default_preset_directory
from synth.control.state_reply import state_datagram
from synth.control_priority import CONTROL_PRIORITY, raise_control_priority
from synth.grains.decoder import GrainDecoder
from synth.grains.engine import GrainEngine, pyo
from synth.grains.latent_space import LatentSpace
from synth.grains.tables import table_samples
from synth.interrupts import StopFlag
from synth.midi_input import MidiError, MidiInput
from synth.voice.player import VoicePlayer
from synth.voice.worker import VoiceOptions
from synth.workers import c_stderr_muted

log = logging.getLogger("deepnote")

CONTROL_PERIOD_SECONDS = 0.005


class AudioUnavailable(RuntimeError):
    """No audio output could be opened; the message suggests what to do instead."""


@dataclass(frozen=True)
class LiveSettings:
    model_path: Path
    audio: str = "portaudio"
    server_rate: int = 48000
    buffer_size: int = 256
    output_device: int | None = None
    jack_name: str = "deepnote"
    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    allowed_senders: tuple[str, ...] = ()
    oscquery_port: int | None = None  # None: no OSCQuery server
    seed: int = 0
    verbose: bool = False
    preset_directory: Path | None = None
    preset: str | None = None
    voice: VoiceOptions | None = None
    voice_model: VoiceModelInfo | None = None
    midi_control: str | None = None  # the MIDI input whose CCs move the bound controls
    midi_api: str | None = None
    midi_map: tuple[Binding, ...] = ()
    models_directory: Path | None = None  # what /model/grains chooses from
    realtime_control: bool = True  # the Python threads on SCHED_FIFO 1 where permitted


def check_output_device(audio: str, output_device: int | None) -> None:
    """pyo's portaudio backend segfaults at boot without a device: refuse before that."""
    if audio != "portaudio":
        return
    with c_stderr_muted():  # portaudio's probe makes ALSA print dozens of lines
        _, indexes = pyo.pa_get_output_devices()
        default_output = pyo.pa_get_default_output()
    if output_device is not None:
        if output_device not in indexes:
            raise AudioUnavailable(f"no output device {output_device} (see --list-devices)")
        return
    if default_output < 0 or not indexes:
        raise AudioUnavailable("no audio output device found; use --audio jack with a "
                               "running JACK server, or --audio offline --render out.wav")


def run_live(settings: LiveSettings, model: GrainModelInfo, stop: StopFlag | None = None) -> int:
    """Play until SIGINT/SIGTERM. ``stop``: the flag the caller installed before its own
    start-up steps (a stop already raised ends the synth before it boots)."""
    check_output_device(settings.audio, settings.output_device)
    # From here on SIGINT/SIGTERM only raise a flag: a stop during start-up is seen between
    # steps (and while waiting for the workers), and everything started is closed.
    if stop is None:
        stop = StopFlag()
    stop.install()
    if stop.raised:
        log.info("stopped while starting")
        return 0
    server = pyo.Server(sr=settings.server_rate, nchnls=2, buffersize=settings.buffer_size,
                        audio=settings.audio, duplex=0, jackname=settings.jack_name)
    server.deactivateMidi()
    if settings.output_device is not None:
        server.setOutputDevice(settings.output_device)
    if settings.audio == "jack":
        server.setJackAuto(False, True)
    with c_stderr_muted():  # libjack explains a missing server in a dozen lines
        server.boot()
    if not server.getIsBooted():
        raise AudioUnavailable(f"the {settings.audio} audio server did not start"
                               + (" (is jackd running? see JACK_DEFAULT_SERVER)"
                                  if settings.audio == "jack" else ""))
    decoder: GrainDecoder | None = None
    listener: OscListener | None = None
    voice: VoicePlayer | None = None
    oscquery: OscQueryServer | None = None
    controls: MidiInput | None = None
    try:
        if settings.midi_control:
            try:
                controls = MidiInput(settings.midi_control, settings.midi_api,
                                     f"{settings.jack_name}-controls", role="MIDI controls")
            except MidiError as error:
                raise AudioUnavailable(str(error)) from error
        decoder = GrainDecoder(str(settings.model_path), table_samples(model),
                               model.grain_size // 2)
        if settings.voice is not None and settings.voice_model is not None:
            voice = VoicePlayer(settings.voice, settings.voice_model, server.getSamplingRate(),
                                f"{settings.jack_name}-voice-clock"
                                if settings.audio == "jack" else None)
        if not decoder.wait_ready(cancelled=stop.is_raised) or (
                voice is not None and not voice.wait_ready(cancelled=stop.is_raised)):
            log.info("stopped while starting")
            return 0
        listener = OscListener(settings.osc_host, settings.osc_port, settings.verbose,
                               settings.allowed_senders)
        engine = GrainEngine(model.sample_rate, server.getSamplingRate(),
                             table_samples(model),
                             voice=voice.output if voice is not None else None)
        presets = PresetStore(settings.preset_directory or default_preset_directory())
        shelf = (ModelShelf(settings.models_directory, model, decoder.load,
                            settings.voice_model if voice is not None else None,
                            voice.switch if voice is not None else None)
                 if settings.models_directory is not None else None)
        controller = Controller(engine, LatentSpace(model), decoder.submit, settings.seed,
                                presets, voice, shelf)
        for binding in settings.midi_map:
            controller.midi_map.bind(binding)
        # A Python thread holding the GIL delays pyo's audio callback; switch often.
        sys.setswitchinterval(0.0005)
        server.start()
        engine.start()
        controller.play_typical()
        if settings.preset:
            controller.load_preset(settings.preset)
        # "playing" means sound: the first table is in before the performer is told so.
        decoder.wait(lambda table: engine.offer_table(table, time.monotonic()))
        log.info("playing %s; OSC on %s:%d (Ctrl-C stops)", settings.model_path,
                 settings.osc_host, listener.port)
        log.info("decoder pid %s, OSC listener pid %s, voice pid %s", decoder.worker_pid,
                 listener.pid, voice.worker_pid if voice is not None else "-")
        oscquery = _start_oscquery(settings, listener.port)
        if settings.realtime_control:  # once the threads the control loop relies on run
            _raise_control_priority()
        _control_loop(stop, listener, settings, decoder, engine, controller, server, voice,
                      oscquery, controls)
        if not stop.raised:
            log.error("the %s audio server stopped under the synth; exiting", settings.audio)
            return 1
        log.info("stopping")
        time.sleep(engine.fade_out() + 0.05)
        server.stop()
        return 0
    finally:
        if controls is not None:
            controls.close()
        if oscquery is not None:
            oscquery.close()
        if listener is not None:
            listener.close()
        if decoder is not None:
            decoder.close()
        if server.getIsBooted():
            server.shutdown()
        if voice is not None:  # after pyo has stopped reading its ring
            voice.close()


def _control_loop(stop: StopFlag, listener: OscListener, settings: LiveSettings,
                  decoder: GrainDecoder, engine: GrainEngine, controller: Controller,
                  server: pyo.Server, voice: VoicePlayer | None,
                  oscquery: OscQueryServer | None, controls: MidiInput | None) -> None:
    """Run until SIGINT/SIGTERM or until the audio server stops."""
    replies = socket.socket(socket.AF_INET6 if ":" in settings.osc_host else socket.AF_INET,
                            socket.SOCK_DGRAM)
    controller.state_replier = functools.partial(
        _reply_state, replies, controller, functools.partial(_health, decoder, listener, voice))
    while not stop.is_raised():
        if not server.getIsStarted():  # pyo stops itself when JACK goes away
            break
        changed = oscquery is not None and not oscquery.published
        for address, values, sender in listener.receive(CONTROL_PERIOD_SECONDS):
            controller.apply(address, values, sender)
            changed = True
        if controls is not None:
            for message in controls.poll():
                if message.type == "control_change":
                    controller.control_change(message.channel + 1, message.control,
                                              message.value)
                    changed = True
        now = time.monotonic()
        decoder.poll(functools.partial(engine.offer_table, now=now))
        while decoder.model_events:
            answer = decoder.model_events.pop(0)
            controller.grains_model_loaded(answer.path, answer.error)
            changed = True
        for switched in voice.switch_answers() if voice is not None else []:
            controller.voice_model_loaded(switched.path, switched.error)
            changed = True
        if changed and oscquery is not None:
            oscquery.publish(dict(controller.snapshot()))
        engine.tick(now)
        decoder.ensure_alive()
        if voice is not None:
            voice.publish_read_position()
            voice.report_underruns(now)
            voice.ensure_alive()
        if not stop.raised:
            listener.restart_if_dead()
    replies.close()


def _raise_control_priority() -> None:
    refused = raise_control_priority()
    if refused is None:
        log.debug("Python threads at SCHED_FIFO %d", CONTROL_PRIORITY)
    else:
        log.info("Python threads at normal priority: %s (xruns are likelier under load; "
                 "see the README's 'Real-time priority')", refused)


def _start_oscquery(settings: LiveSettings, osc_port: int) -> OscQueryServer | None:
    """The OSCQuery server beside the OSC port; a port already taken costs one warning, not
    the show."""
    if settings.oscquery_port is None:
        return None
    try:
        server = OscQueryServer(settings.osc_host, settings.oscquery_port, osc_port,
                                settings.allowed_senders)
    except OSError as error:
        log.warning("no OSCQuery: cannot listen on %s:%d (%s)", settings.osc_host,
                    settings.oscquery_port, error.strerror or error)
        return None
    host = f"[{settings.osc_host}]" if ":" in settings.osc_host else settings.osc_host
    log.info("OSCQuery on http://%s:%d/", host, server.port)
    return server


def _health(decoder: GrainDecoder, listener: OscListener,
            voice: VoicePlayer | None) -> list[tuple[str, tuple]]:
    """What /state reports besides the controls: worker restarts, the voice's underruns."""
    figures: list[tuple[str, tuple]] = [
        ("/state/decoder/restarts", (decoder.restarts,)),
        ("/state/listener/restarts", (listener.restarts,))]
    if voice is not None:
        figures += [("/state/voice/underruns", (voice.underruns,)),
                    ("/state/voice/late_ms", (voice.late_ms,)),
                    ("/state/voice/restarts", (voice.restarts,))]
    return figures


def _reply_state(replies: socket.socket, controller: Controller,
                 health: Callable[[], list[tuple[str, tuple]]],
                 destination: tuple[str, int]) -> None:
    try:
        replies.sendto(state_datagram(controller, health()), destination)
    except OSError as error:
        log.warning("could not send /state to %s:%d (%s)", *destination, error.strerror)

