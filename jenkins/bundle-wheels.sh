#!/bin/sh
# Release step: put earthly-doctor's wheel (and, by default, its dependencies) into the library's resources with a
# sha256 for each, so a release tag of this repository installs exactly what was built for it.
#   jenkins/bundle-wheels.sh              the wheel and its dependencies (`deps bundled`: pip --no-index)
#   jenkins/bundle-wheels.sh --no-deps    the earthly-doctor wheel only (`deps index`: dependencies by range)
# Writes jenkins/resources/io/earthlydoctor/{*.whl,wheels.txt}. OUT=dir overrides the folder; PYTHON the
# interpreter; PIP_ARGS adds pip options (e.g. --no-build-isolation offline, or --platform/--only-binary=:all: to
# fetch the dependencies for the agents' platform when it is not this machine's).
# wheels.txt lines: `version X`, `deps bundled|index`, then `<file>.whl sha256:<hex>` per wheel; earthlyDoctor
# refuses a manifest it cannot read and checks every wheel's sha256 before pip sees it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
out=${OUT:-"$here/resources/io/earthlydoctor"}
python=${PYTHON:-python3}
deps=bundled
if [ "${1:-}" = "--no-deps" ]; then
    deps=index
fi
mkdir -p "$out"
rm -f "$out"/*.whl "$out/wheels.txt"
if [ "$deps" = index ]; then
    # shellcheck disable=SC2086  # PIP_ARGS (e.g. --no-build-isolation) is split on purpose
    "$python" -m pip wheel --disable-pip-version-check --quiet --no-deps ${PIP_ARGS:-} --wheel-dir "$out" "$src"
else
    # shellcheck disable=SC2086
    "$python" -m pip wheel --disable-pip-version-check --quiet ${PIP_ARGS:-} --wheel-dir "$out" "$src"
fi
main=$(cd "$out" && ls earthly_doctor-*.whl)
version=$(printf '%s\n' "$main" | sed 's/^earthly_doctor-\([^-]*\)-.*/\1/')
"$python" - "$out" "$version" "$deps" <<'PY'
import hashlib, pathlib, sys

out, version, deps = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
lines = [f"# earthly-doctor {version}: wheels for the Jenkins library (jenkins/bundle-wheels.sh)",
         f"version {version}", f"deps {deps}"]
for wheel in sorted(out.glob("*.whl")):
    lines.append(f"{wheel.name} sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}")
(out / "wheels.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
PY
echo "bundled into $out:"
grep -v '^#' "$out/wheels.txt"
