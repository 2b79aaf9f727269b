#!/bin/sh
# Bundle earthly-doctor as a wheel into the library's resources/, so `earthlyDoctor()` installs it without an index.
#   jenkins/bundle-wheels.sh              the earthly-doctor wheel only (dependencies still come from the index)
#   jenkins/bundle-wheels.sh --with-deps  its dependencies too (then call earthlyDoctor(offline: true))
# OUT=dir overrides the target folder (default: jenkins/resources/io/earthlydoctor beside this script); PIP_ARGS adds
# pip wheel options (e.g. --no-build-isolation on a machine without an index).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
out=${OUT:-"$here/resources/io/earthlydoctor"}
python=${PYTHON:-python3}
deps="--no-deps"
if [ "${1:-}" = "--with-deps" ]; then
    deps=""
fi
mkdir -p "$out"
rm -f "$out"/*.whl "$out/wheels.txt"
# shellcheck disable=SC2086  # $deps and PIP_ARGS (e.g. --no-build-isolation) are split on purpose
"$python" -m pip wheel --disable-pip-version-check --quiet $deps ${PIP_ARGS:-} --wheel-dir "$out" "$src"
{
    echo "# wheels bundled by jenkins/bundle-wheels.sh; earthlyDoctor installs the earthly_doctor one"
    (cd "$out" && ls -1 ./*.whl | sed 's|^\./||')
} > "$out/wheels.txt"
echo "bundled into $out:"
sed -n '2,$p' "$out/wheels.txt"
