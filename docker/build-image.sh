#!/usr/bin/env bash
# Build the earthly-doctor image. The wheels are prepared here, on the host; the image build runs with
# `--network none`, so it works on an air-gapped Jenkins and wherever no registry is reachable.
# Environment:
#   BASE       base image with python3 >= 3.11 and venv, present on the daemon (default python:3.12-slim)
#   TAG        image tag (default earthly-doctor:<version>)
#   PYTHON     host Python used to build the wheels (default python3)
#   WHEELHOUSE a folder of wheels to install from instead of the package index (air-gapped hosts)
#   DOCKER_HOST and the docker CLI context are honoured as by any docker command.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${BASE:-python:3.12-slim}"
PYTHON="${PYTHON:-python3}"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/diagnose/__init__.py")"
TAG="${TAG:-earthly-doctor:$version}"

die() { echo "build-image: $*" >&2; exit 2; }
command -v docker >/dev/null || die "the docker CLI is not installed"
docker image inspect "$BASE" >/dev/null 2>&1 \
  || die "base image $BASE is not on the daemon (${DOCKER_HOST:-default context}): docker pull it, or make one with docker/make-base.sh"

# The base decides the wheels' Python: ask it, with no network, before building anything.
pyver="$(docker run --rm --network none --entrypoint python3 "$BASE" -c \
  'import sys; print("%d.%d" % sys.version_info[:2]) if sys.version_info >= (3, 11) else print("old")' 2>/dev/null)" \
  || die "$BASE has no python3"
[[ "$pyver" != old ]] || die "$BASE has a Python older than 3.11"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
pip_source=()
[[ -n "${WHEELHOUSE:-}" ]] && pip_source=(--no-index --find-links "$WHEELHOUSE")
echo "build-image: wheels for Python $pyver"
"$PYTHON" -m pip wheel -q --disable-pip-version-check "${pip_source[@]}" --wheel-dir "$ctx/wheels" "$repo" \
  || die "pip wheel failed"
# Wheels built for the host's Python are swapped for the base's where they are version-specific.
"$PYTHON" - "$ctx/wheels" "$pyver" "${pip_source[@]}" <<'PY' || die "could not fetch wheels for the base's Python"
import pathlib, platform, subprocess, sys
folder, want, source = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
have = "%d.%d" % sys.version_info[:2]
if want != have:
    tag = "cp" + want.replace(".", "")
    machine = platform.machine()
    for wheel in sorted(folder.glob("*.whl")):
        name, version, *_, py, abi, plat = wheel.stem.split("-")
        if plat == "any" or abi == "abi3":
            continue
        platforms = [f"manylinux_2_{n}_{machine}" for n in (17, 28, 31, 34)] + [f"manylinux2014_{machine}"]
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", "--python-version", want, "--implementation", "cp", "-d", str(folder),
               *[arg for p in platforms for arg in ("--platform", p)], *source, f"{name}=={version}"]
        subprocess.run(cmd, check=True)
        wheel.unlink()
PY
cp "$repo/Dockerfile" "$ctx/Dockerfile"
# The legacy builder honours --network none for RUN steps and needs no buildx plugin.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
echo "build-image: building $TAG from $BASE (no network)"
docker build -q --network none --build-arg "BASE=$BASE" --build-arg "VERSION=$version" -t "$TAG" "$ctx" >/dev/null
docker image prune -f --filter label=earthly-doctor.build-stage=1 >/dev/null 2>&1 || true
echo "build-image: $TAG"
