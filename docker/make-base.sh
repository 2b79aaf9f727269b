#!/usr/bin/env bash
# Make a minimal Debian base image with Python (no registry needed): debootstrap into a folder, `docker import` it.
# Usage: docker/make-base.sh [TAG]   (default earthly-doctor-base:bookworm). Honours DOCKER_HOST.
# Environment: SUITE (bookworm), MIRROR (default: the first Debian mirror of this machine's apt sources),
# CACHE_DIR (/var/cache/earthly-doctor): the rootfs tarball is kept there and reused on the next run.
set -euo pipefail
TAG="${1:-${TAG:-earthly-doctor-base:bookworm}}"
SUITE="${SUITE:-bookworm}"
CACHE_DIR="${CACHE_DIR:-/var/cache/earthly-doctor}"
tarball="$CACHE_DIR/$SUITE-minbase-python3.tar"

die() { echo "make-base: $*" >&2; exit 2; }
command -v docker >/dev/null || die "the docker CLI is not installed"

if [[ ! -s "$tarball" ]]; then
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  [[ $(id -u) == 0 ]] || die "debootstrap needs root"
  if [[ -z "${MIRROR:-}" ]]; then
    # The mirror apt already uses here, so an offline or proxied machine keeps working.
    MIRROR="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
    [[ -n "$MIRROR" ]] || MIRROR="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
    [[ -n "$MIRROR" ]] || die "no Debian mirror found in the apt sources; set MIRROR"
  fi
  mkdir -p "$CACHE_DIR"
  work="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  echo "make-base: debootstrap $SUITE (minbase + python3, python3-venv) from $MIRROR"
  debootstrap --variant=minbase --include=python3,python3-venv "$SUITE" "$work/rootfs" "$MIRROR" >"$work/log" 2>&1 \
    || { tail -20 "$work/log" >&2; die "debootstrap failed"; }
  # Package caches and lists only make the image larger.
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/usr/share/doc" \
    "$work/rootfs/usr/share/man" "$work/rootfs/usr/share/locale"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$tarball"   # same filesystem: the cache is complete or absent
fi
docker import --change 'CMD ["/bin/bash"]' "$tarball" "$TAG" >/dev/null
echo "make-base: $TAG"
