"""Readiness checks that speak each server's own protocol, with the standard library only.

An open TCP port proves little: Kafka accepts connections before its broker is registered,
and a database may accept connections before its storage is open. So Kafka must answer
ApiVersions and a Metadata request listing a broker, and the MongoDB server must run
``listDatabases``, which touches its storage. Each probe returns None when ready, otherwise a
short reason for the error message.
"""

from __future__ import annotations

import itertools
import socket
import struct

_correlation = itertools.count(1)

_API_VERSIONS = 18
_METADATA = 3
#: Metadata versions whose request and response prefix have the layout encoded below
#: (Kafka 4 dropped v0-v3; v9 switches to the "flexible" encoding).
_METADATA_VERSIONS = range(4, 9)


def kafka_ready(host: str, port: int, timeout: float = 2.0) -> str | None:
    """None once the broker answers ApiVersions and its Metadata lists at least one broker."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            versions = _api_versions(sock)
            usable = [v for v in _METADATA_VERSIONS if v in versions.get(_METADATA, range(0))]
            if not usable:
                return "broker supports no Metadata version this probe speaks"
            brokers = _metadata_broker_count(sock, usable[0])
    except (OSError, struct.error, ValueError) as exc:
        return f"Kafka request failed: {exc or type(exc).__name__}"
    return None if brokers > 0 else "metadata lists no broker yet"


def _kafka_request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    """Send one request (header v1, client id "devstack"); return the response after its id."""
    correlation = next(_correlation)
    client = b"devstack"
    payload = struct.pack(">hhih", api_key, version, correlation, len(client)) + client + body
    sock.sendall(struct.pack(">i", len(payload)) + payload)
    size = struct.unpack(">i", _recv(sock, 4))[0]
    response = _recv(sock, size)
    if struct.unpack_from(">i", response)[0] != correlation:
        raise ValueError("response correlation id does not match the request")
    return response[4:]


def _api_versions(sock: socket.socket) -> dict[int, range]:
    """ApiVersions v0 (every broker answers it): supported version range per API key."""
    body = _kafka_request(sock, _API_VERSIONS, 0, b"")
    error, count = struct.unpack_from(">hi", body)
    if error != 0:
        raise ValueError(f"ApiVersions error code {error}")
    keys = struct.iter_unpack(">hhh", body[6 : 6 + 6 * count])
    return {key: range(low, high + 1) for key, low, high in keys}


def _metadata_broker_count(sock: socket.socket, version: int) -> int:
    """Metadata for no topics (empty list, no auto-creation): how many brokers it lists."""
    body = struct.pack(">i?", 0, False)
    if version >= 8:
        body += struct.pack(">??", False, False)  # no authorized-operations lists
    response = _kafka_request(sock, _METADATA, version, body)
    _throttle_ms, brokers = struct.unpack_from(">ii", response)
    return int(brokers)


def _recv(sock: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes, or ConnectionError if the peer closes first."""
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        chunks += chunk
    return bytes(chunks)


# --- MongoDB wire protocol (OP_MSG) -------------------------------------------------------

_OP_MSG = 2013
_BSON_FIXED_SIZES = {
    0x01: 8,
    0x07: 12,
    0x08: 1,
    0x09: 8,
    0x0A: 0,
    0x10: 4,
    0x11: 8,
    0x12: 8,
    0x13: 16,
    0xFF: 0,
    0x7F: 0,
}
_BSON_SCALAR_FORMATS = {0x01: "<d", 0x08: "<?", 0x10: "<i", 0x12: "<q"}


def mongo_ready(host: str, port: int, timeout: float = 2.0) -> str | None:
    """None once ``listDatabases`` succeeds, which needs the server's storage open."""
    command: dict[str, int | bool | str] = {"listDatabases": 1, "nameOnly": True, "$db": "admin"}
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            reply = _op_msg(sock, command)
    except (OSError, struct.error, ValueError) as exc:
        return f"MongoDB request failed: {exc or type(exc).__name__}"
    if reply.get("ok") == 1:
        return None
    return f"listDatabases answered {reply.get('errmsg', reply)!r}"


def _op_msg(sock: socket.socket, command: dict[str, int | bool | str]) -> dict[str, object]:
    """Send one command as OP_MSG (section kind 0); return the reply's top-level scalars."""
    request_id = next(_correlation)
    payload = struct.pack("<I", 0) + b"\x00" + _bson(command)
    sock.sendall(struct.pack("<iiii", 16 + len(payload), request_id, 0, _OP_MSG) + payload)
    length, _, response_to, opcode = struct.unpack("<iiii", _recv(sock, 16))
    body = _recv(sock, length - 16)
    if opcode != _OP_MSG or response_to != request_id:
        raise ValueError(f"unexpected reply (opcode {opcode})")
    return _bson_scalars(body[5:])  # skip flag bits and section kind


def _bson(doc: dict[str, int | bool | str]) -> bytes:
    """Encode a flat document of ints, bools and strings: all a probe command needs."""
    out = bytearray()
    for key, value in doc.items():
        name = key.encode() + b"\x00"
        if isinstance(value, bool):
            out += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            out += b"\x10" + name + struct.pack("<i", value)
        else:
            text = value.encode() + b"\x00"
            out += b"\x02" + name + struct.pack("<i", len(text)) + text
    return struct.pack("<i", len(out) + 5) + bytes(out) + b"\x00"


def _bson_scalars(doc: bytes) -> dict[str, object]:
    """Top-level numbers and strings of a BSON document (``ok``, ``errmsg``); skips the rest."""
    result: dict[str, object] = {}
    pos, end = 4, struct.unpack_from("<i", doc)[0] - 1
    while pos < end:
        kind = doc[pos]
        name_end = doc.index(b"\x00", pos + 1)
        name, pos = doc[pos + 1 : name_end].decode(), name_end + 1
        if kind in _BSON_SCALAR_FORMATS:
            result[name] = struct.unpack_from(_BSON_SCALAR_FORMATS[kind], doc, pos)[0]
        elif kind == 0x02:
            size = struct.unpack_from("<i", doc, pos)[0]
            result[name] = doc[pos + 4 : pos + 3 + size].decode(errors="replace")
        pos += _bson_value_size(kind, doc, pos)
    return result


def _bson_value_size(kind: int, doc: bytes, pos: int) -> int:
    """Bytes taken by one value of the given BSON type at ``pos``."""
    if kind in _BSON_FIXED_SIZES:
        return _BSON_FIXED_SIZES[kind]
    length = int(struct.unpack_from("<i", doc, pos)[0])
    if kind in (0x02, 0x0D, 0x0E):  # string, JavaScript, symbol: length excludes itself
        return 4 + length
    if kind in (0x03, 0x04):  # document, array: length includes itself
        return length
    if kind == 0x05:  # binary: length, subtype, bytes
        return 5 + length
    raise ValueError(f"unsupported BSON type 0x{kind:02x} in reply")
