"""A daemon that is too old (a stand-in speaking Docker's /version over a unix socket) gets a clear ED110 finding.

A real pre-1.12 dockerd cannot run here; the stand-in answers /version exactly as such a daemon's API would (the
`ApiVersion` field), which is all ED110 reads before deciding.
"""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler


class OldDaemon(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"Version": "1.11.2", "ApiVersion": "1.23", "Os": "linux"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def test_api_too_old_is_a_clear_failure(tmp_path):
    path = str(tmp_path / "old.sock")
    server = UnixHTTPServer(path, OldDaemon)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "earthly_doctor", "diagnose", "--format", "json", "--docker-host", f"unix://{path}"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    daemon = next(f for f in report["findings"] if f["code"] == "ED110")
    assert daemon["status"] == "fail"
    assert daemon["error_kind"] == "api-too-old"
    assert "Docker API 1.23" in daemon["summary"] and "upgrade Docker" in daemon["summary"]
    assert report["verdict"]["cause"] == "docker-unreachable"
