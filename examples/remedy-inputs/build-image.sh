#!/usr/bin/env bash
# Builds and exports the service image on a CI agent.
set -euo pipefail

VERSION="${1:-dev}"
earthly bootstrap --no-buildkit
earthly --ci --output +image --VERSION="$VERSION"
earthly +integration-test && echo "integration tests passed"
