# CustomPass: one image for every service; the Deployment picks the service, e.g.
#   docker run IMAGE services.billing        (default: services.gateway)
# Both stages use the same base image, so the venv's interpreter path is valid at run time.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
# Same uv as the Makefile pins; bytecode compiled now, because the root filesystem is read-only
# at run time.
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.8
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 custompass \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin custompass
# A container is reached through its own interface: the services listen on every address here
# (outside a container they default to 127.0.0.1).
ENV PATH=/app/.venv/bin:$PATH \
    VIRTUAL_ENV=/app/.venv \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CUSTOMPASS_BIND_HOST=0.0.0.0
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY shared ./shared
COPY services ./services
# python -m tools.migrate (the init container of deploy/k8s, the migrate step of deploy/compose).
COPY tools/__init__.py ./tools/__init__.py
COPY tools/migrate ./tools/migrate
RUN python -m compileall -q shared services tools
# `local` result storage's directory in a container, owned by the service user so that a volume
# mounted here starts writable (deploy/compose sets RESULT_STORAGE_DIR to it).
RUN mkdir -p /var/lib/custompass/results && chown 10001:10001 /var/lib/custompass/results
USER 10001:10001
EXPOSE 8080 8081 8082 8083
ENTRYPOINT ["python", "-m"]
CMD ["services.gateway"]
