# Everything installs itself: a pinned uv in .tools/, the locked virtualenv in .venv/.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run cluster test lint unit venv lock bench chaos clean

run: $(VENV)/.synced ## the whole system in one process (embedded mode)
	$(VENV)/bin/leadflow embedded

cluster: $(VENV)/.synced ## every service its own process (RABBITMQ_URL, DATABASE_URL)
	$(VENV)/bin/leadflow cluster

test: $(VENV)/.synced lint ## lint, type-check and every test
	$(VENV)/bin/pytest

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared/leadflow services/gateway/gateway services/leads/leads services/assignment/assignment services/ai/ai services/realtime/realtime services/wa-consultant/wa_consultant services/wa-livia/wa_livia

bench: $(VENV)/.synced
	$(VENV)/bin/python -m bench

CHAOS_RUNS ?= 5
chaos: $(VENV)/.synced ## fault suite: own PostgreSQL and 3-node RabbitMQ, kills, checks (minutes)
	$(VENV)/bin/python -m bench.chaos --runs $(CHAOS_RUNS)

venv: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml $(UV)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	@touch $@

lock: $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache
