"""A MIDI input port by name (a keyboard for the voice, a controller for the knobs): mido
over rtmidi, watched so that a pulled cable ends cleanly.

The port is polled (no callback thread). Every half second the input names are checked: when
the source disappears the reader gets an all-notes-off (CC 123) and the port is closed; when
it comes back it is opened again.
"""

from __future__ import annotations

import logging
import time

import mido
import rtmidi

from synth.workers import c_stderr_muted

log = logging.getLogger("deepnote.midi")

MIDI_APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE",
             "windows": "WINDOWS_MM"}
WATCH_SECONDS = 0.5
ALL_NOTES_OFF = mido.Message("control_change", control=123, value=0)


class MidiError(RuntimeError):
    """MIDI cannot be used as asked; the message says why in one line."""


def midi_backend(api: str | None) -> mido.Backend:
    name = "mido.backends.rtmidi" + (f"/{MIDI_APIS[api]}" if api else "")
    return mido.Backend(name, load=True)


def list_midi_inputs(api: str | None) -> list[str]:
    try:
        with c_stderr_muted():  # libjack explains a missing server in several lines
            return list(midi_backend(api).get_input_names())
    except Exception as error:  # rtmidi raises its own SystemError subclasses
        raise MidiError(f"MIDI ({api or 'default API'}) is unavailable: "
                        f"{_first_line(error)}") from error


def find_port(names: list[str], wanted: str) -> str | None:
    """The input called ``wanted``, else the only one whose name contains it (any case)."""
    if wanted in names:
        return wanted
    matches = [name for name in names if wanted.lower() in name.lower()]
    return matches[0] if len(matches) == 1 else None


class MidiInput:
    """An input port by name that survives the source going away and coming back."""

    def __init__(self, wanted: str, api: str | None, client_name: str = "deepnote",
                 role: str = "MIDI input") -> None:
        self.wanted = wanted
        self.role = role  # how the log names it: "MIDI input" (the keyboard), "MIDI controls"
        self.client_name = client_name
        self._backend = midi_backend(api)
        # One listing client for the whole run: opening one per check would churn the graph.
        try:
            with c_stderr_muted():
                self._lister = rtmidi.MidiIn(getattr(rtmidi, f"API_{MIDI_APIS[api]}")
                                             if api else rtmidi.API_UNSPECIFIED,
                                             name=f"{client_name}-watch")
        except Exception as error:
            raise MidiError(f"MIDI ({api or 'default API'}) is unavailable: "
                            f"{_first_line(error)}") from error
        self._port: mido.ports.BaseInput | None = None
        self._next_check = 0.0
        self.connected_name: str | None = None
        self._open_if_present(log_missing=True)

    def poll(self) -> list[mido.Message]:
        """Messages waiting now; an all-notes-off when the port has just gone away."""
        messages: list[mido.Message] = []
        if self._port is not None:
            messages.extend(self._port.iter_pending())
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + WATCH_SECONDS
            if self._port is not None and not self._still_there():
                log.warning("%s %r went away: all notes off; waiting for it to "
                            "come back", self.role, self.connected_name)
                self._close()
                messages.append(ALL_NOTES_OFF)
            elif self._port is None:
                self._open_if_present(log_missing=False)
        return messages

    def _names(self) -> list[str]:
        try:
            return list(self._lister.get_ports())
        except Exception as error:  # the MIDI system itself went away
            log.debug("listing MIDI inputs failed: %s", _first_line(error))
            return []

    def _still_there(self) -> bool:
        return self.connected_name in self._names()

    def _open_if_present(self, log_missing: bool) -> None:
        name = find_port(self._names(), self.wanted)
        if name is None:
            if log_missing:
                log.warning("%s %r not found (yet); will connect when it appears "
                            "(--list-midi shows the inputs)", self.role, self.wanted)
            return
        try:
            # No client_name: with one, mido opens a virtual port instead of connecting.
            self._port = self._backend.open_input(name)
        except Exception as error:
            log.warning("could not open %s %r: %s", self.role, name, _first_line(error))
            return
        self.connected_name = name
        log.info("%s %r connected", self.role, name)

    def _close(self) -> None:
        if self._port is not None:
            self._port.close()
        self._port = None
        self.connected_name = None

    def close(self) -> None:
        self._close()
        self._lister.delete()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
