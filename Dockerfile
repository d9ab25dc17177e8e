# One image for every service; the command chooses which one runs:
#   docker run leadflow serve gateway | serve leads | ... | migrate leads
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
# Dependencies first (a layer that changes only with the lock file) ...
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/gateway/pyproject.toml services/gateway/pyproject.toml
COPY services/leads/pyproject.toml services/leads/pyproject.toml
COPY services/assignment/pyproject.toml services/assignment/pyproject.toml
COPY services/ai/pyproject.toml services/ai/pyproject.toml
COPY services/realtime/pyproject.toml services/realtime/pyproject.toml
COPY services/wa-consultant/pyproject.toml services/wa-consultant/pyproject.toml
COPY services/wa-livia/pyproject.toml services/wa-livia/pyproject.toml
RUN uv sync --frozen --no-dev --all-packages --no-install-workspace
# ... then the code (workspace packages stay editable so migrations/ ship beside them).
COPY shared shared
COPY services services
COPY web web
RUN uv sync --frozen --no-dev --all-packages

FROM python:3.11-slim
RUN groupadd --system --gid 10001 leadflow \
    && useradd --system --uid 10001 --gid leadflow --home-dir /app --shell /usr/sbin/nologin leadflow \
    && mkdir -p /data/whatsapp \
    && chown -R leadflow:leadflow /data
WORKDIR /app
COPY --from=build --chown=leadflow:leadflow /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    WHATSAPP_SESSION_DIR=/data/whatsapp \
    DATA_DIR=/data
USER 10001
ENTRYPOINT ["leadflow"]
CMD ["serve", "gateway"]
