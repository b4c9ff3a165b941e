"""Traefik (the lab's binary) with the file provider: HTTPS on 127.0.0.1 to local backends.

The test starts its own Traefik on free 127.0.0.1 ports with a generated
certificate, two tiny backends (an HTTP app and a WebSocket echo server), HSTS
and an HTTP->HTTPS redirect, and talks to it only over loopback.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.traefik_file import file_traefik as file_traefik_process
from tests.support.traefik_file import traefik_binary

pytestmark = [pytest.mark.lab]

HOST = "odoo.lab.test"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class AppHandler(BaseHTTPRequestHandler):
    """Answers every GET with JSON naming the backend and echoing path and forwarded headers."""

    backend = "app"

    def do_GET(self) -> None:
        if self.path.startswith("/websocket") and self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket()
            return
        body = json.dumps({"backend": self.backend, "path": self.path,
                           "x-forwarded-proto": self.headers.get("X-Forwarded-Proto"),
                           "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _websocket(self) -> None:
        """Minimal RFC 6455 server: handshake, then echo one text frame with the backend's name."""
        accept = ws_accept(self.headers["Sec-WebSocket-Key"])
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        payload = read_frame(self.rfile.read)
        send_frame(self.wfile.write, f"{self.backend}:{payload.decode()}".encode(), mask=False)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def ws_accept(key: str) -> str:
    """The Sec-WebSocket-Accept value for a handshake key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode(), usedforsecurity=False).digest()).decode()


def read_frame(read: Callable[[int], bytes]) -> bytes:
    head = read(2)
    length, masked = head[1] & 0x7F, head[1] & 0x80
    if length == 126:
        length = int.from_bytes(read(2), "big")
    key = read(4) if masked else b""
    data = read(length)
    return bytes(b ^ key[i % 4] for i, b in enumerate(data)) if masked else data


def send_frame(write: Callable[[bytes], Any], payload: bytes, *, mask: bool) -> None:
    assert len(payload) < 126
    head = bytes([0x81, (0x80 if mask else 0) | len(payload)])
    if mask:
        key = os.urandom(4)
        write(head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload)))
    else:
        write(head + payload)


def backend(name: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type(f"{name.title()}Handler", (AppHandler,), {"backend": name})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


@pytest.fixture(scope="module")
def file_traefik(lab_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    try:
        binary = traefik_binary(lab_env)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    d = tmp_path_factory.mktemp("traefik-file")
    cert, key = d / "tls.crt", d / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={HOST}",
                    "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1"], check=True, capture_output=True)
    app, app_port = backend("app")
    ws, ws_port = backend("ws")
    dynamic = {
        "http": {
            "routers": {
                "app": {"rule": f"Host(`{HOST}`)", "entryPoints": ["websecure"], "service": "app",
                        "middlewares": ["hsts"], "tls": {}},
                "websocket": {"rule": f"Host(`{HOST}`) && PathPrefix(`/websocket`)", "entryPoints": ["websecure"],
                              "service": "ws", "middlewares": ["hsts"], "tls": {}},
            },
            "middlewares": {"hsts": {"headers": {"stsSeconds": 31536000, "stsIncludeSubdomains": True,
                                                 "stsPreload": True, "forceSTSHeader": True}}},
            "services": {
                "app": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{app_port}"}]}},
                "ws": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{ws_port}"}]}},
            },
        },
        "tls": {"stores": {"default": {"defaultCertificate": {"certFile": str(cert), "keyFile": str(key)}}}},
    }
    redirect = ("--entryPoints.web.http.redirections.entryPoint.to=websecure",
                "--entryPoints.web.http.redirections.entryPoint.scheme=https")
    try:
        with file_traefik_process(binary, d, dynamic, {"app@file", "websocket@file"}, redirect) as t:
            yield {"ports": t["ports"], "ctx": ssl.create_default_context(cafile=str(cert)), "cert": cert,
                   "log": t["log"]}
    except RuntimeError as exc:
        pytest.fail(str(exc))
    finally:
        app.shutdown()
        ws.shutdown()


def https_get(t: dict[str, Any], path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", t["ports"]["websecure"], context=t["ctx"], timeout=10)
    conn.request("GET", path, headers={"Host": HOST})
    resp = conn.getresponse()
    return resp, resp.read()


def test_https_with_generated_certificate_and_hsts(file_traefik: dict[str, Any]) -> None:
    resp, body = https_get(file_traefik, "/web/login")
    assert resp.status == 200
    data = json.loads(body)
    assert data == {"backend": "app", "path": "/web/login", "x-forwarded-proto": "https", "host": HOST}
    hsts = resp.getheader("Strict-Transport-Security")
    assert hsts is not None and "max-age=31536000" in hsts and "includeSubDomains" in hsts
    # the certificate Traefik served is the generated one (verified against it as the only CA)
    with socket.create_connection(("127.0.0.1", file_traefik["ports"]["websecure"]), timeout=5) as raw, \
            file_traefik["ctx"].wrap_socket(raw, server_hostname=HOST) as tls:
        served = tls.getpeercert(binary_form=True)
    assert served == ssl.PEM_cert_to_DER_cert(file_traefik["cert"].read_text())


def test_plain_http_redirects_to_https(file_traefik: dict[str, Any]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", file_traefik["ports"]["web"], timeout=10)
    conn.request("GET", "/web", headers={"Host": HOST})
    resp = conn.getresponse()
    assert resp.status in (301, 302, 307, 308)
    assert resp.getheader("Location", "").startswith(f"https://{HOST}")


def test_websocket_path_goes_to_second_backend(file_traefik: dict[str, Any]) -> None:
    resp, body = https_get(file_traefik, "/websocket/info")
    assert resp.status == 200 and json.loads(body)["backend"] == "ws"
    # a real WebSocket upgrade through Traefik, answered by the second backend
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", file_traefik["ports"]["websecure"]), timeout=10) as raw, \
            file_traefik["ctx"].wrap_socket(raw, server_hostname=HOST) as tls:
        tls.sendall((f"GET /websocket HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        reader = tls.makefile("rb")
        status = reader.readline().decode()
        headers: dict[str, str] = {}
        while (line := reader.readline().decode().strip()):
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        assert " 101 " in status, status
        assert headers["sec-websocket-accept"] == ws_accept(key)
        send_frame(tls.sendall, b"ping", mask=True)
        assert read_frame(reader.read) == b"ws:ping"
