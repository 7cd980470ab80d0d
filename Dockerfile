# The image of any one leadflow service, chosen when building. From the repository root:
#   docker build --build-arg SERVICE=intake --build-arg PORT=8001 -t leadflow-intake:dev .
# SERVICE: intake, qualification, opportunity or nurture. PORT: where its API listens, is probed and exposed
# (docker-compose.yml gives each the port of its settings' default, 8001..8004).
FROM python:3.11-slim

ARG SERVICE
ARG PORT
# Stop at once with what to pass, rather than at a COPY of a lock file that does not exist.
RUN case "$SERVICE" in \
      intake|qualification|opportunity|nurture) ;; \
      *) echo "leadflow: build with --build-arg SERVICE=intake|qualification|opportunity|nurture (got '$SERVICE')" >&2; exit 1 ;; \
    esac; \
    case "$PORT" in \
      ''|*[!0-9]*) echo "leadflow: build with --build-arg PORT=<the service's port, 8001..8004> (got '$PORT')" >&2; exit 1 ;; \
    esac; \
    if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then echo "leadflow: PORT must be 1..65535 (got $PORT)" >&2; exit 1; fi

# LEADFLOW_SERVICE and LEADFLOW_PORT keep the build arguments for the CMD and the HEALTHCHECK, which run later.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LEADFLOW_SERVICE=${SERVICE} \
    LEADFLOW_PORT=${PORT}

RUN useradd --create-home --uid 10001 --user-group leadflow
WORKDIR /app

# The locked third-party versions first, hash-checked: they change least often, so their layer is reused;
# then shared, then the service, neither allowed to pull in anything the lock does not pin.
COPY requirements/${SERVICE}.txt /app/requirements/${SERVICE}.txt
RUN pip install --require-hashes --no-deps -r /app/requirements/${SERVICE}.txt
COPY shared /app/shared
RUN pip install --no-deps /app/shared
COPY services/${SERVICE} /app/services/${SERVICE}
RUN pip install --no-deps /app/services/${SERVICE} && pip check

USER leadflow
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=6 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:' + os.environ['LEADFLOW_PORT'] + '/health/ready', timeout=2).status == 200 else 1)"]
# serve --host/--port rather than INTAKE_HTTP_HOST, QUALIFICATION_HTTP_HOST, ...: one CMD for every service.
CMD ["sh", "-c", "leadflow-\"$LEADFLOW_SERVICE\" migrate && exec leadflow-\"$LEADFLOW_SERVICE\" serve --host 0.0.0.0 --port \"$LEADFLOW_PORT\""]
