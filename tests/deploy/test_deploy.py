"""Compose and Kubernetes files are valid, current, and agree with the code."""

from __future__ import annotations

import importlib
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


def setting_names(settings: type[Settings] = Settings) -> set[str]:
    return {str(field.validation_alias) for field in settings.model_fields.values()}


def own_settings() -> dict[str, set[str]]:
    """Each service's own knobs: what its `config.py` settings class adds to the shared ones."""
    own = {}
    for folder in SERVICE_FOLDERS:
        package = folder.replace("-", "_")
        if not (ROOT / "services" / folder / package / "config.py").exists():
            continue
        module = importlib.import_module(f"{package}.config")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Settings)
                and value.__module__ == module.__name__
            ):
                own[folder] = setting_names(value) - setting_names()
    return own


def workload_container(name: str) -> dict[str, Any]:
    [workload] = [
        d
        for d in manifests()
        if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"] == name
    ]
    [container] = workload["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


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
    container = workload_container(name)
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


def test_each_services_own_settings_are_set_for_it_alone_and_in_the_env_example() -> None:
    own = own_settings()
    assert {"wa-consultant", "wa-livia"} <= set(own)
    example = (ROOT / ".env.example").read_text()
    [config] = [d for d in manifests() if d["kind"] == "ConfigMap"]
    every_service = set(compose()["services"]["migrate"]["environment"])  # what all are given
    for service in SERVICE_NAMES:
        names = own.get(service, set())
        others = set().union(*(v for k, v in own.items() if k != service)) - names
        in_kubernetes = {e["name"] for e in workload_container(service)["env"]}
        in_compose = set(compose()["services"][service]["environment"])
        assert names <= in_kubernetes | set(config["data"]) and names <= in_compose, service
        given_alone = in_kubernetes | (in_compose - every_service)
        assert not others & given_alone, f"{service} is given others' knobs"
        assert all(re.search(rf"^{name}=", example, re.M) for name in names), service


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


def pod_templates() -> list[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every workload, the migration Job included."""
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in manifests()
        if d["kind"] in ("Deployment", "StatefulSet", "Job")
    ]


def test_every_pod_runs_read_only_under_seccomp_without_a_service_account_token() -> None:
    pods = pod_templates()
    assert "leadflow-migrate" in [name for name, _ in pods]
    for name, pod in pods:
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name


def test_each_process_is_given_only_the_secrets_it_uses() -> None:
    from leadflow.settings import SERVICE_SECRETS

    for name, pod in pod_templates():
        [container] = pod["containers"]
        process = "migrate" if name == "leadflow-migrate" else name
        assert {"secretRef": {"name": "leadflow-secrets"}} not in container["envFrom"], name
        given = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
        assert given == set(SERVICE_SECRETS[process]), name
    assert "JWT_SECRET" not in SERVICE_SECRETS["leads"] + SERVICE_SECRETS["ai"]
    assert SERVICE_SECRETS["migrate"] == ("DATABASE_URL",)


def routed(ingress: dict[str, Any], path: str) -> bool:
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            prefix = entry["path"].rstrip("/")
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            if entry["pathType"] == "Prefix" and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


def test_the_ingress_serves_tls_and_only_the_public_surface() -> None:
    [ingress] = [d for d in manifests() if d["kind"] == "Ingress"]
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
    assert all(tls["secretName"] for tls in ingress["spec"]["tls"])
    for private in ("/metrics", "/docs", "/openapi.json", "/healthz", "/readyz", "/asyncapi.json"):
        assert not routed(ingress, private), private
    for public in ("/", "/api/leads", "/api/auth/login", "/ws", "/api/events", "/web/app.js"):
        assert routed(ingress, public), public


def test_every_network_policy_egress_rule_names_its_destination() -> None:
    policies = [d for d in manifests() if d["kind"] == "NetworkPolicy"]
    rules = [rule for p in policies for rule in p["spec"].get("egress", [])]
    assert rules and all(rule.get("to") for rule in rules)
    for rule in rules:
        for peer in rule["to"]:
            if "ipBlock" in peer:  # the internet, never the cluster or cloud metadata
                assert "10.0.0.0/8" in peer["ipBlock"]["except"]
                assert "169.254.0.0/16" in peer["ipBlock"]["except"]
    [gateway] = [p for p in policies if p["metadata"]["name"] == "gateway"]
    ports = {port["port"] for rule in gateway["spec"]["egress"] for port in rule["ports"]}
    assert ports == {53, 5672}  # DNS and RabbitMQ: the gateway has no database


def test_every_overlay_requires_its_own_secrets_file_which_git_ignores() -> None:
    ignored = (ROOT / ".gitignore").read_text()
    assert "deploy/overlays/*/secrets.env" in ignored.splitlines()
    for overlay in ("dev", "prod"):
        kustomization = yaml.safe_load(
            (ROOT / f"deploy/overlays/{overlay}/kustomization.yaml").read_text()
        )
        [secrets] = kustomization["secretGenerator"]
        assert secrets["name"] == "leadflow-secrets" and secrets["behavior"] == "replace"
        assert secrets["envs"] == ["secrets.env"]
        example = (ROOT / f"deploy/overlays/{overlay}/secrets.env.example").read_text()
        assert all(f"{name}=" in example for name in render.SECRET_SETTINGS)


def test_compose_requires_secrets_trusts_only_its_proxy_and_hides_rabbitmq_management() -> None:
    services = compose()["services"]
    assert "ports" not in services["rabbitmq"]
    proxy_ip = services["proxy"]["networks"]["default"]["ipv4_address"]
    for name in SERVICE_NAMES:
        environment = services[name]["environment"]
        assert environment["FORWARDED_ALLOW_IPS"] == proxy_ip
        for secret in ("JWT_SECRET", "WEBHOOK_SECRET", "ADMIN_PASSWORD"):
            assert environment[secret].startswith(f"${{{secret}:?"), secret
    nginx = (ROOT / "deploy/compose/nginx.conf").read_text()
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in nginx
