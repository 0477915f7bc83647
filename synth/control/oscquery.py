"""OSCQuery: the address table served as JSON over HTTP, as the OSCQuery proposal describes,
so that hosts (TouchDesigner, ossia score, Chataigne, ...) discover every address with its
arguments, ranges, units, description and current value.

``GET /`` is the whole namespace, ``GET /grain/dur`` one node, ``GET /grain/dur?VALUE`` one
attribute and ``GET /?HOST_INFO`` the server: its name and where its OSC port is. The tree is
generated from :data:`synth.control.addresses.ADDRESSES`; current values are what the control
loop last published (:meth:`OscQueryServer.publish`). The server binds the OSC listener's
address and answers the same senders (``--allow``).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from synth.control.addresses import ADDRESSES, Address, Field
from synth.control.network_policy import SenderPolicy

log = logging.getLogger("deepnote.oscquery")

ACCESS_NONE, ACCESS_WRITE, ACCESS_READ_WRITE = 0, 2, 3
EXTENSIONS = ("ACCESS", "VALUE", "RANGE", "TYPE", "DESCRIPTION", "UNIT")
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE", "DESCRIPTION",
              "UNIT")

Values = Mapping[str, tuple]


def namespace(values: Values) -> dict[str, Any]:
    """The root node: every address of the table, placed in its containers, with the
    current value of those ``values`` holds."""
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": ACCESS_NONE, "CONTENTS": {}}
    for address in ADDRESSES:
        node = _container(root, address.path)
        node.update(_method(address, values.get(address.path)))
    return root


def find_node(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    node = root
    for part in [p for p in path.split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def host_info(name: str, osc_host: str, osc_port: int) -> dict[str, Any]:
    return {"NAME": name, "OSC_IP": osc_host, "OSC_PORT": osc_port, "OSC_TRANSPORT": "UDP",
            "EXTENSIONS": dict.fromkeys(EXTENSIONS, True)}


def _container(root: dict[str, Any], path: str) -> dict[str, Any]:
    node = root
    walked = ""
    for part in [p for p in path.split("/") if p]:
        walked += "/" + part
        contents = node.setdefault("CONTENTS", {})
        node = contents.setdefault(part, {"FULL_PATH": walked, "ACCESS": ACCESS_NONE})
    return node


def _method(address: Address, value: tuple | None) -> dict[str, Any]:
    fields = address.fields * address.min_groups
    node: dict[str, Any] = {
        "TYPE": "".join(_type_tag(field) for field in fields),
        "ACCESS": ACCESS_READ_WRITE if value is not None else ACCESS_WRITE,
        "DESCRIPTION": _description(address),
        "RANGE": [_range(field) for field in fields],
    }
    units = [field.unit for field in fields]
    if any(units):
        node["UNIT"] = units
    if value is not None:
        node["VALUE"] = list(value)
    return node


def _description(address: Address) -> str:
    text = address.effect
    if address.max_groups != address.min_groups:
        text += (f" (arguments: {address.describe_arguments()}; TYPE shows the shortest "
                 "message)")
    elif address.optional:
        text += f" (arguments: {address.describe_arguments()})"
    return text


def _type_tag(field: Field) -> str:
    if field.text:
        return "s"
    return "i" if field.integer else "f"


def _range(field: Field) -> dict[str, Any]:
    if field.choices:
        return {"VALS": list(field.choices)}
    if field.text:
        return {}
    if field.integer:
        return {"MIN": int(field.low), "MAX": int(field.high)}
    return {"MIN": field.low, "MAX": field.high}


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class OscQueryServer:
    """An HTTP server in a daemon thread; :meth:`publish` swaps in the current values."""

    def __init__(self, host: str, port: int, osc_port: int,
                 allowed: tuple[str, ...] = (), name: str = "deepnote") -> None:
        self._tree = namespace({})
        self._info = host_info(name, host, osc_port)
        self._policy = SenderPolicy(allowed)
        self._lock = threading.Lock()
        self.published = False
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self._http = server_class((host, port), self._handler_class())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="oscquery",
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def publish(self, values: Values) -> None:
        tree = namespace(values)
        with self._lock:
            self._tree = tree
        self.published = True

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=2.0)

    def answer(self, target: str) -> tuple[HTTPStatus, dict[str, Any] | None]:
        """The status and JSON body for a request target such as ``/xy?VALUE``."""
        parts = urlsplit(target)
        path, query = unquote(parts.path) or "/", parts.query
        if query == "HOST_INFO":
            return HTTPStatus.OK, self._info
        with self._lock:
            node = find_node(self._tree, path)
        if node is None:
            return HTTPStatus.NOT_FOUND, None
        if not query:
            return HTTPStatus.OK, node
        if query not in ATTRIBUTES:
            return HTTPStatus.BAD_REQUEST, None
        if query not in node:
            return HTTPStatus.NO_CONTENT, None
        return HTTPStatus.OK, {query: node[query]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not server._policy.permits(self.client_address[0]):
                    log.warning("OSCQuery request from %s refused (not allowed)",
                                self.client_address[0])
                    self.send_error(HTTPStatus.FORBIDDEN)
                    return
                status, body = server.answer(self.path)
                if body is None:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("OSCQuery %s", format % args)

        return Handler
