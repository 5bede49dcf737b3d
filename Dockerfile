# Airbyte's Python connector template: the pinned base image, code in /airbyte/integration_code,
# and AIRBYTE_ENTRYPOINT equal to ENTRYPOINT (the platform reads the variable).
FROM docker.io/airbyte/python-connector-base:4.1.0@sha256:1d1aa21d34e851df4e8a87b391c27724c06e2597608e7161f4d167be853bd7b6

WORKDIR /airbyte/integration_code

COPY setup.py main.py README.md ./
COPY destination_identify ./destination_identify
RUN pip install --no-cache-dir .

# Run as the base image's non-root user, as Airbyte's own build template does.
USER airbyte

ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/destination-identify"
ENTRYPOINT ["/usr/local/bin/destination-identify"]

LABEL io.airbyte.name=airbyte/destination-identify
LABEL io.airbyte.version=0.1.0
