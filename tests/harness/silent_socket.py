"""A unix socket that accepts connections and never answers: the stand-in for a stuck Docker daemon."""

from __future__ import annotations

import socket
import threading
from pathlib import Path


class SilentSocket:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(self.path)
        self.server.listen(64)
        self.server.settimeout(0.2)  # so the accept loop notices close() within a bound
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                self.held.append(self.server.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.server.close()

    def __enter__(self) -> SilentSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
