"""TLS to a tcp:// Docker daemon, resolved exactly as the docker CLI does, and TLS failures told as TLS failures.

The docker CLI (cli/flags/options.go, cli/context/docker/load.go) turns TLS on for the default context when
DOCKER_TLS or DOCKER_TLS_VERIFY is set to anything non-empty ("0" included); verification is on with
DOCKER_TLS_VERIFY; the files are ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (default: the docker config
folder, ~/.docker), and a missing cert.pem/key.pem is dropped quietly while a missing ca.pem stops the CLI
(whatever the scheme, verification or not: measured with docker 28). A named context ignores those variables:
its files live in contexts/tls/<sha256(name)>/docker/ and its meta.json says SkipTLSVerify; with no files and no
SkipTLSVerify the context speaks plain HTTP.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

TLS_KINDS = ("tls-unknown-ca", "tls-name-mismatch", "tls-client-cert", "tls-plain-to-tls", "tls-to-plain",
             "tls-files", "tls-error")


@dataclass(frozen=True)
class TLSMaterial:
    verify: bool  # check the daemon's certificate (against `ca`, or the system roots when there is none)
    ca: str | None
    cert: str | None
    key: str | None
    source: str  # where the settings came from, for evidence and advice
    folder: str  # the folder the files are (or were expected) in
    problem: str | None = None  # why the docker CLI would stop before dialling (e.g. ca.pem missing)

    @property
    def summary(self) -> str:
        files = ", ".join(f"{n}={p}" for n, p in (("ca", self.ca), ("cert", self.cert), ("key", self.key)) if p)
        return f"TLS{' (verify)' if self.verify else ' (no verify)'} from {self.source}: {files or 'no files'}"


def _file(folder: Path, name: str) -> str | None:
    path = folder / name
    return str(path) if os.path.isfile(path) else None


def tls_from_env(env: Mapping[str, str], config_dir: Path | None) -> TLSMaterial | None:
    """The default context's TLS (DOCKER_TLS, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), or None for plain HTTP."""
    verify = env.get("DOCKER_TLS_VERIFY", "") != ""
    if not verify and env.get("DOCKER_TLS", "") == "":
        return None
    folder = Path(env["DOCKER_CERT_PATH"]) if env.get("DOCKER_CERT_PATH") else config_dir
    named = "DOCKER_TLS_VERIFY" if verify else "DOCKER_TLS"
    where = f"DOCKER_CERT_PATH={folder}" if env.get("DOCKER_CERT_PATH") else f"DOCKER_CERT_PATH unset, so {folder}"
    source = f"{named}={env.get(named)!r}, {where}"
    if folder is None:
        return TLSMaterial(verify, None, None, None, source, "(no docker config folder: HOME unset)",
                           f"{named} is set but there is no DOCKER_CERT_PATH and no HOME to find ca.pem in")
    ca, cert, key = _file(folder, "ca.pem"), _file(folder, "cert.pem"), _file(folder, "key.pem")
    problem = None
    if ca is None:
        # Measured with docker 28: fatal for every scheme (unix:// too) and with DOCKER_TLS alone.
        problem = (f"{named} is set but {folder / 'ca.pem'} does not exist: the docker CLI (and so Earthly) stops with "
                   "'unable to resolve docker endpoint: open …/ca.pem'; set DOCKER_CERT_PATH to the folder holding "
                   "ca.pem, cert.pem and key.pem (docker:dind: /certs/client), or unset " + named)
    return TLSMaterial(verify, ca, cert if cert and key else None, key if cert and key else None,
                       source, str(folder), problem)


def tls_from_context(folder: Path, name: str, skip_verify: bool) -> TLSMaterial | None:
    """A named context's TLS: files in contexts/tls/<sha256(name)>/docker/, SkipTLSVerify from its meta.json."""
    ca, cert, key = _file(folder, "ca.pem"), _file(folder, "cert.pem"), _file(folder, "key.pem")
    if not (ca or cert or key or skip_verify):
        return None
    source = f"docker context {name!r} ({folder}{', SkipTLSVerify' if skip_verify else ''})"
    return TLSMaterial(not skip_verify, ca if not skip_verify else None, cert if cert and key else None,
                       key if cert and key else None, source, str(folder))


def _texts(errors: list[BaseException]) -> str:
    return " ".join(str(e) for e in errors)


def classify_tls(errors: list[BaseException]) -> tuple[str, str] | None:
    """(kind, what happened) when a connection failed on TLS, from the exception chain; None otherwise."""
    text = _texts(errors)
    if "Client sent an HTTP request to an HTTPS server" in text:
        return "tls-plain-to-tls", "the daemon speaks TLS, but this connection was plain HTTP"
    for e in errors:
        if isinstance(e, ssl.SSLCertVerificationError):
            message = e.verify_message or str(e)
            if "mismatch" in message.lower() or "match" in message.lower():
                return "tls-name-mismatch", f"the daemon's certificate does not name this host ({message})"
            return "tls-unknown-ca", f"the daemon's certificate is not trusted ({message})"
    lowered = text.lower()
    if re.search(r"certificate required|alert bad certificate|alert unknown ca|certificate unknown|"
                 r"alert handshake failure", lowered):
        return "tls-client-cert", "the daemon refused this client's certificate (missing, or not signed by its CA)"
    if re.search(r"wrong version number|record layer failure|packet length too long|unknown protocol",
                 lowered):
        return "tls-to-plain", "this connection spoke TLS, but the daemon answers plain HTTP"
    if any(isinstance(e, ssl.SSLError) for e in errors) or "SSLError" in text:
        detail = next((str(e) for e in errors if isinstance(e, ssl.SSLError)), text)
        return "tls-error", f"TLS handshake failed ({detail})"
    return None


def tls_advice(kind: str, url: str, tls: TLSMaterial | None) -> str:
    """What to check, naming the file or variable, for a TLS failure kind."""
    ca = tls.ca if tls and tls.ca else (f"{tls.folder}/ca.pem" if tls else "ca.pem")
    where = tls.source if tls else "no TLS settings (DOCKER_TLS_VERIFY unset, no context TLS files)"
    if kind == "tls-unknown-ca":
        return (f"check {ca}: it must be the CA that signed the daemon's certificate (settings: {where}); with "
                "docker:dind it is /certs/client/ca.pem from the dind container's DOCKER_TLS_CERTDIR (default /certs)")
    if kind == "tls-name-mismatch":
        return (f"the host in {url} must be a name or IP in the daemon's certificate (its subjectAltName): use that "
                "name in DOCKER_HOST (docker:dind: `docker`, the service's network alias)")
    if kind == "tls-client-cert":
        folder = tls.folder if tls else "DOCKER_CERT_PATH"
        return (f"check cert.pem and key.pem in {folder} ({where}): a daemon started with --tlsverify requires a "
                "client certificate signed by its CA (docker:dind: /certs/client)")
    if kind == "tls-plain-to-tls":
        return ("set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the client certificates (docker:dind: /certs/client), "
                "or give the docker context its ca/cert/key (`docker context create NAME --docker "
                "host=tcp://HOST:2376,ca=…,cert=…,key=…`); port 2376 is the TLS port by convention")
    if kind == "tls-to-plain":
        return (f"the daemon at {url} has no TLS: unset DOCKER_TLS_VERIFY/DOCKER_TLS (now: {where}) or use its TLS "
                "port (2376 by convention; 2375 is plain)")
    if kind == "tls-files":
        return tls.problem if tls and tls.problem else "check DOCKER_CERT_PATH"
    return f"check the TLS settings ({where}) against the daemon's --tlscacert/--tlscert/--tlskey"
