"""The OSC listener: a separate process that receives, checks, validates and coalesces.

Parsing a flood of datagrams in the audio process would hold the GIL against pyo's audio
callback, so it happens here. The audio process receives small batches
of valid messages over a pipe: for each address (and each ``/latent/dim`` dimension) only the
latest values, in the order they last changed. Bad datagrams and messages are dropped with
at most one warning per address every few seconds.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import queue
import socket
import time
from dataclasses import dataclass, field

from synth.control.addresses import (
    ADDRESS_BY_PATH,
    Coalescing,
    InvalidArguments,
    validate_message,
)
from synth.control.datagram import MalformedDatagram, parse_datagram
from synth.control.network_policy import SenderPolicy
from synth.workers import WorkerFailed, WorkerProcess, WorkerReady, parent_is_gone

log = logging.getLogger("deepnote.osc")

RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
FLUSH_SECONDS = 0.002
STARTUP_TIMEOUT = 30.0
WARNING_INTERVAL_SECONDS = 5.0


@dataclass
class RateLimitedWarnings:
    """One warning per key per interval, saying how many were held back meanwhile."""

    interval: float = WARNING_INTERVAL_SECONDS
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def warn(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -self.interval) < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return
        held = self._held.pop(key, 0)
        suffix = f" ({held} more dropped since the last warning)" if held else ""
        log.warning("%s%s", message, suffix)
        self._last[key] = now


Message = tuple[str, tuple, tuple[str, int]]  # address, values, sender
_event_numbers = itertools.count()


def coalescing_key(address: str, values: tuple, sender: tuple[str, int]) -> tuple:
    """Messages with the same key replace each other while waiting."""
    coalescing = ADDRESS_BY_PATH[address].coalescing
    if coalescing is Coalescing.PER_INDEX:
        return (address, int(values[0]))
    if coalescing is Coalescing.EVERY_EVENT:
        return (address, next(_event_numbers))
    if coalescing is Coalescing.EVERY_REQUEST:
        return (address, values, sender)
    return (address,)


def listener_main(host: str, port: int, verbose: bool, allowed: tuple[str, ...],
                  commands: mp.Queue, results: mp.Queue, batches: mp.Queue) -> None:
    """Entry point of the listener process (a WorkerProcess: any command means stop)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="deepnote-synth: %(message)s")
    try:
        sock = open_socket(host, port)
    except OSError as error:
        results.put(WorkerFailed(f"cannot listen on {host}:{port}: {error.strerror}"))
        return
    results.put(WorkerReady(mp.current_process().pid or 0, sock.getsockname()[1]))
    refused = 0  # datagrams from senders outside --allow
    warnings = RateLimitedWarnings()
    policy = SenderPolicy(allowed)
    waiting: dict[tuple, Message] = {}
    flush_at = 0.0
    while not parent_is_gone():  # the audio process may be killed without a word
        try:
            datagram, sender = sock.recvfrom(65536)
        except TimeoutError:
            datagram = None
        if datagram is not None and not policy.permits(sender[0]):
            refused += 1
            warnings.warn("<refused>", f"refused datagrams from {sender[0]} (not in --allow); "
                          f"{refused} so far")
        elif datagram is not None:
            for address, values in accept(datagram, sender, warnings):
                key = coalescing_key(address, values, sender)
                waiting.pop(key, None)
                waiting[key] = (address, values, (sender[0], sender[1]))
        now = time.monotonic()
        if now < flush_at:
            continue
        flush_at = now + FLUSH_SECONDS
        if waiting:
            batches.put(list(waiting.values()))
            waiting.clear()
        if not commands.empty():
            return


def accept(datagram: bytes, sender: tuple,
           warnings: RateLimitedWarnings) -> list[tuple[str, tuple]]:
    """The valid messages of one datagram; everything else is warned about (rate-limited)."""
    try:
        messages = parse_datagram(datagram)
    except MalformedDatagram as error:
        warnings.warn("<malformed>", f"dropped a malformed datagram from {sender[0]}: {error}")
        return []
    valid = []
    for address, arguments in messages:
        try:
            values = validate_message(address, arguments)
        except InvalidArguments as error:
            warnings.warn(address, f"dropped {address[:64]}: {error}")
            continue
        valid.append((address, values))
    return valid


def open_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        # As root the buffer may exceed net.core.rmem_max; otherwise take what is allowed.
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33),
                        RECEIVE_BUFFER_BYTES)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.bind((host, port))
    sock.settimeout(FLUSH_SECONDS)
    return sock


class OscListener:
    """The audio process's handle on the listener process."""

    def __init__(self, host: str, port: int, verbose: bool = False,
                 allowed: tuple[str, ...] = ()) -> None:
        self._worker = WorkerProcess(
            target=listener_main, args=(host, port, verbose, allowed),
            channels=("commands", "results", "batches"), name="deepnote-osc",
            description=f"the OSC listener on {host}:{port}")
        ready = self._worker.wait_ready(STARTUP_TIMEOUT, failure=OSError)
        assert ready is not None  # never cancelled
        self.port = int(ready.detail)  # type: ignore[call-overload]

    def receive(self, timeout: float) -> list[Message]:
        """The next batch of valid (address, values, sender) messages, or an empty list."""
        try:
            return self._worker.channels["batches"].get(timeout=timeout)
        except queue.Empty:
            return []

    def restart_if_dead(self) -> bool:
        """Start a new listener if this one died (with the workers' back-off), without
        waiting for it: a later call logs whether it listens again. True if restarted."""
        try:
            report = self._worker.channels["results"].get_nowait()
        except queue.Empty:
            report = None
        if isinstance(report, WorkerReady):
            self.port = int(report.detail)  # type: ignore[call-overload]
            log.info("the OSC listener listens again on port %d", self.port)
        elif isinstance(report, WorkerFailed):
            log.error("the OSC listener could not start again: %s", report.reason)
        return self._worker.restart_if_dead("OSC messages are lost until it listens again")

    @property
    def pid(self) -> int | None:
        return self._worker.pid

    @property
    def restarts(self) -> int:
        return self._worker.restarts

    @property
    def alive(self) -> bool:
        return self._worker.alive

    def close(self) -> None:
        self._worker.close()
