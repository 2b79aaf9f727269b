#!/usr/bin/env python3
"""A stand-in for the `earthly` CLI (v0.8.x), faithful to the behaviour recorded in shared/research/earthly.md.

Earthly itself cannot be installed here, so tests install this file as `earthly` (or `earth`, EarthBuild's name)
in a bin folder on PATH. Like the real CLI it:
- opens its registry proxy on 127.0.0.1:0 in its own network namespace (§2.4) unless the proxy is disabled by
  `--disable-remote-registry-proxy` before the target or `EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY` (Go ParseBool:
  set-but-empty is false, an invalid value is an error; EarthBuild reads `EARTH_…` first), also from `./.env`,
  which never overrides the environment (§2.1);
- exports the image by shelling out to `docker pull 127.0.0.1:<port>/sess-<25 chars>/pullping:img-0`, then
  `docker tag` and `docker image rm -f` (§2.6); the proxy serves a real one-layer image, so the pull succeeds
  whenever the daemon shares this loopback;
- with the proxy disabled, falls back to `docker load` of a tar (§2.8, the remote/embedded BuildKit path);
- on a failed pull prints Earthly's exact two-line error (§2.7) and exits 1; there is no fallback after it (§2.5).
Stand-in only: `--hold SECONDS` (or FAKE_EARTHLY_HOLD) keeps the proxy listening before the export, so tests can
observe a live proxy; FAKE_EARTHLY_VERSION sets the version it reports; FAKE_EARTHLY_IMAGE the output image name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import string
import subprocess
import sys
import tarfile
import threading
import time
import importlib.util
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAD = 20  # conslogging.DefaultPadding: the prefix column is right-justified to 20 characters

# Where the doctor's .env reader lives; install_fake_earthly writes the path into each installed copy.
DOTENV_SOURCE = str(Path(__file__).resolve().parents[2] / "diagnose" / "dotenv.py")


def say(prefix: str, text: str) -> None:
    print(f"{prefix:>{PAD}} | {text}", flush=True)


def parse_bool(value: str, name: str) -> bool:
    """Go's strconv.ParseBool, as urfave/cli applies it to an environment variable."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    print(
        f'Error: could not parse "{value}" as bool value from env {name} for flag disable-remote-registry-proxy: '
        f'strconv.ParseBool: parsing "{value}": invalid syntax',
        file=sys.stderr,
    )
    raise SystemExit(1)


def load_dotenv(path: str = ".env") -> None:
    """godotenv.Load: KEY=VALUE lines, comments and `export` allowed; never overrides the environment."""
    # The one godotenv reader (diagnose/dotenv.py, stdlib only), loaded by path: this stand-in runs under any
    # interpreter, where another earthly_doctor (or none) may be importable.
    spec = importlib.util.spec_from_file_location("earthly_doctor_dotenv", DOTENV_SOURCE)
    dotenv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dotenv)
    try:
        values = dotenv.read_dotenv(Path(path), os.environ)
    except dotenv.DotenvError as exc:
        print(f"Error loading dot-env file {path}: {exc}", file=sys.stdout)
        raise SystemExit(1) from None
    for key, value in values.items():
        os.environ.setdefault(key, value)


def proxy_disabled(flag: bool, earthbuild: bool) -> bool:
    if flag:
        return True
    names = ["EARTH_DISABLE_REMOTE_REGISTRY_PROXY"] if earthbuild else []
    names.append("EARTHLY_DISABLE_REMOTE_REGISTRY_PROXY")
    for name in names:
        value = os.environ.get(name)
        if value:  # urfave/cli: set but empty means "not set", i.e. false
            return parse_bool(value, name)
    return False


# --- a one-layer image, served by the proxy or loaded from a tar ---------------------------------------------

def _layer() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"built by the earthly stand-in\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


LAYER_TAR = _layer()
LAYER_GZ = gzip.compress(LAYER_TAR, mtime=0)
CONFIG = json.dumps(
    {"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [_sha(LAYER_TAR)]}}
).encode()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(CONFIG), "digest": _sha(CONFIG)},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(LAYER_GZ), "digest": _sha(LAYER_GZ)}
        ],
    }
).encode()
BLOBS = {_sha(CONFIG): CONFIG, _sha(LAYER_GZ): LAYER_GZ}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code: int, body: bytes, ctype: str = "application/json", digest: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if digest:
            self.send_header("Docker-Content-Digest", digest)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.rstrip("/") == "/v2":
            return self._send(200, b"{}")
        if "/manifests/" in path:
            return self._send(200, MANIFEST, "application/vnd.docker.distribution.manifest.v2+json", _sha(MANIFEST))
        if "/blobs/" in path:
            digest = path.rsplit("/", 1)[1]
            if digest in BLOBS:
                return self._send(200, BLOBS[digest], "application/octet-stream", digest)
        return self._send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"unknown"}]}')

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


def save_tar(tag: str) -> bytes:
    """A `docker save` style archive for `docker load`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        layer_dir = hashlib.sha256(LAYER_TAR).hexdigest()
        add(f"{layer_dir}/layer.tar", LAYER_TAR)
        config_name = hashlib.sha256(CONFIG).hexdigest() + ".json"
        add(config_name, CONFIG)
        add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": [f"{layer_dir}/layer.tar"]}]).encode())
    return buf.getvalue()


def docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    # Like shell_shared.go: the docker CLI, the complete current environment, stdout+stderr together.
    return subprocess.run(["docker", *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)


def session_id() -> str:
    return "".join(random.choice(string.digits + string.ascii_lowercase) for _ in range(25))


def main(argv: list[str]) -> int:
    prog = os.path.basename(sys.argv[0])
    earthbuild = prog == "earth"
    version = os.environ.get("FAKE_EARTHLY_VERSION", "v0.8.15")
    flags, target = [], None
    rest = list(argv)
    hold = float(os.environ.get("FAKE_EARTHLY_HOLD", "0") or 0)
    while rest:
        arg = rest.pop(0)
        if arg == "--version":
            print(f"{prog} version {version} 6e641c15d3b4d7dd396363b61d2381faa2658f3d linux/amd64; Debian 12")
            return 0
        if arg == "--hold":
            hold = float(rest.pop(0))
            continue
        if arg.startswith("+") or ("+" in arg and not arg.startswith("-")):
            target = arg
            break  # everything after the target is a build arg (§2.1)
        flags.append(arg)
    if target is None:
        print("Error: no target reference given", file=sys.stderr)
        return 2
    load_dotenv()
    verbose = "-V" in flags or "--verbose" in flags
    ci = "--ci" in flags or os.environ.get("EARTHLY_CI", "").lower() in ("1", "true")
    disabled = proxy_disabled("--disable-remote-registry-proxy" in flags, earthbuild)
    image = os.environ.get("FAKE_EARTHLY_IMAGE", "earthly-doctor/fake-output:latest")

    say("buildkitd", "Found buildkit daemon as docker container (earthly-buildkitd)")
    server = None
    if disabled:
        if verbose:
            say("registry-proxy", "Registry proxy disabled via --disable-remote-registry-proxy")
    else:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        if verbose:
            say("registry-proxy", f"Starting registry proxy on 127.0.0.1:{server.server_address[1]}")
    say(target[-PAD:], f"--> SAVE IMAGE {image}")
    if hold > 0:
        time.sleep(hold)
    try:
        if ci:
            say("output", "--> exporting outputs (skipped: --ci implies --no-output)")
            return 0
        say("output", "--> exporting outputs")
        say("output", "[----------] 100% exporting outputs\x1b[K")
        if server is None:
            result = docker("load", stdin=save_tar(image))
            if result.returncode != 0:
                out = result.stdout.decode(errors="replace").strip()
                print(f"Error: load docker tar: load tar: image load failed: {out}", flush=True)
                return 1
        else:
            ref = f"127.0.0.1:{server.server_address[1]}/sess-{session_id()}/pullping:img-0"
            if verbose:
                say("frontend", f"Running command: docker pull {ref}")
            result = docker("pull", ref)
            if result.returncode != 0:
                out = result.stdout.decode(errors="replace").strip()
                print(
                    "Error: pull ping error: pull ping response: rpc error: code = Unknown desc = image pull: 1 error occurred:\n"
                    f"\t* command failed: docker pull {ref}: exit status {result.returncode}: {out}: exit status {result.returncode}\n",
                    flush=True,
                )
                return 1
            docker("tag", ref, image)
            docker("image", "rm", "-f", ref)
        print(f"Image {target} output as {image}", flush=True)
        return 0
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
