"""Compose and Kubernetes files are valid, current, and agree with the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from leadflow.service import SERVICE_NAMES, default_port
from leadflow.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
import render  # noqa: E402

KUBERNETES_VERSION = "1.31.0"
SERVICE_FOLDERS = sorted(
    p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists()
)


def manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((ROOT / "deploy" / "base").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def setting_names() -> set[str]:
    return {str(field.validation_alias) for field in Settings.model_fields.values()}


def test_the_committed_files_are_what_the_renderer_produces() -> None:
    stale = [name for name, text in render.rendered().items() if (ROOT / name).read_text() != text]
    assert stale == [], "run .venv/bin/python deploy/render.py"


@pytest.mark.parametrize(
    "document", manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_every_manifest_validates_against_the_kubernetes_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((ROOT / "deploy/base/kustomization.yaml").read_text())
    files = {p.name for p in (ROOT / "deploy/base").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests/deploy/schemas/compose_spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose())


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_folder_is_a_service_the_code_knows() -> None:
    assert sorted(SERVICE_NAMES) == SERVICE_FOLDERS


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_runs_in_compose_with_a_health_check_on_its_port(name: str) -> None:
    port = default_port(name, Settings(_env_file=None))
    service = compose()["services"][name]
    assert service["command"] == ["serve", name]
    assert service["environment"]["PORT"] == str(port)
    assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_every_service_runs_in_kubernetes_with_probes_on_its_port(name: str) -> None:
    port = default_port(name, Settings(_env_file=None))
    [workload] = [
        d
        for d in manifests()
        if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"] == name
    ]
    [container] = workload["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", name]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert {"name": "PORT", "value": str(port)} in container["env"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    [service] = [d for d in manifests() if d["kind"] == "Service" and d["metadata"]["name"] == name]
    assert service["spec"]["ports"][0]["port"] == port


def test_whatsapp_sessions_are_single_replica_statefulsets_with_their_own_volume() -> None:
    for name in ("wa-consultant", "wa-livia"):
        [workload] = [
            d
            for d in manifests()
            if d["metadata"]["name"] == name and d["kind"] in ("Deployment", "StatefulSet")
        ]
        assert workload["kind"] == "StatefulSet" and workload["spec"]["replicas"] == 1
        assert workload["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "sessions"
        assert f"{name}-sessions:/data/whatsapp" in compose()["services"][name]["volumes"]


def test_every_setting_the_code_reads_is_set_in_compose_and_in_kubernetes() -> None:
    wanted = setting_names()
    [config] = [d for d in manifests() if d["kind"] == "ConfigMap"]
    [secret] = [d for d in manifests() if d["kind"] == "Secret"]
    in_kubernetes = set(config["data"]) | set(secret["stringData"]) | {"PORT"}
    assert wanted - in_kubernetes == set()
    assert set(config["data"]).isdisjoint(secret["stringData"])
    for name in SERVICE_NAMES:
        assert wanted - set(compose()["services"][name]["environment"]) == set(), name
    example = (ROOT / ".env.example").read_text()
    assert all(re.search(rf"^#? ?{name}=", example, re.M) for name in wanted)


def test_no_code_reads_the_environment_except_through_settings() -> None:
    allowed = {"settings.py", "cli.py"}  # cli passes the environment on to child processes
    readers = []
    for path in [*(ROOT / "shared/leadflow").rglob("*.py"), *(ROOT / "services").glob("*/*/*.py")]:
        if "testing" in path.parts or path.name in allowed:
            continue
        if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text()):
            readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_secrets_are_a_template_with_no_values() -> None:
    [secret] = [d for d in manifests() if d["kind"] == "Secret"]
    assert set(secret["stringData"]) == set(render.SECRET_SETTINGS)
    assert all(value == "" for value in secret["stringData"].values())


def test_the_compose_check_rejects_what_the_specification_does_not_allow() -> None:
    schema = json.loads((ROOT / "tests/deploy/schemas/compose_spec.json").read_text())
    broken = compose()
    broken["services"]["gateway"]["restart_policy_typo"] = "always"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(schema).validate(broken)


def test_the_overlays_build_on_the_base() -> None:
    for overlay in ("dev", "prod"):
        kustomization = yaml.safe_load(
            (ROOT / f"deploy/overlays/{overlay}/kustomization.yaml").read_text()
        )
        assert kustomization["resources"] == ["../../base"]
        assert kustomization["namespace"].startswith("leadflow")
