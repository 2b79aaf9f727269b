#!/bin/sh
# Runs Earthly in a container against the host's Docker daemon (the socket is mounted).
set -e
docker pull earthly/earthly:v0.8.15
docker run --rm -t \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$(pwd)":/workspace -w /workspace \
  -e NO_BUILDKIT=1 \
  earthly/earthly:v0.8.15 --ci +image
docker run --rm postgres:16 pg_isready --help >/dev/null
