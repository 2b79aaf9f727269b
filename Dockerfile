# The earthly-doctor image: diagnose an agent that has no Python by running beside it, in its namespaces:
#   docker run --rm --network container:<agent> --pid container:<agent> \
#     -v /var/run/docker.sock:/var/run/docker.sock earthly-doctor:<version> diagnose
# Build it with docker/build-image.sh, which prepares the wheels on the host: the build itself needs no network.
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
# The label lets build-image.sh remove this stage's leftover image (the legacy builder keeps it).
LABEL earthly-doctor.build-stage=1
COPY wheels /tmp/wheels
# A venv from local wheels only; pip is removed afterwards since nothing installs at run time. numpy goes too
# (28 MiB): it only speeds up the triage of logs of 64 MiB and more (triage/vector.py falls back without it), and
# this image is made to diagnose beside an agent.
RUN python3 -m venv /opt/earthly-doctor \
 && /opt/earthly-doctor/bin/python -m pip install --no-index --no-cache-dir --disable-pip-version-check \
      --find-links /tmp/wheels earthly-doctor \
 && /opt/earthly-doctor/bin/python -m pip uninstall -y --disable-pip-version-check pip setuptools numpy \
 && find /opt/earthly-doctor -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/earthly-doctor/bin/earthly-doctor --version

FROM ${BASE}
ARG VERSION=unknown
LABEL org.opencontainers.image.title="earthly-doctor" \
      org.opencontainers.image.description="Diagnose and fix Earthly's SAVE IMAGE registry-proxy 'connection refused'" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /opt/earthly-doctor /opt/earthly-doctor
# EARTHLY_DOCTOR_IMAGE tells the doctor that the container whose network it joined is the subject, not itself.
ENV PATH=/opt/earthly-doctor/bin:$PATH \
    EARTHLY_DOCTOR_IMAGE=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["earthly-doctor"]
CMD ["diagnose"]
