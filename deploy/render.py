"""Render docker-compose.yml and the Kubernetes manifests from one table.

    .venv/bin/python deploy/render.py          # rewrite the files
    .venv/bin/python deploy/render.py --check  # exit 1 if they differ (CI does this)

Ports and setting names come from the code (`leadflow.service`, `leadflow.settings`, and
each service's own settings class), so a service or setting added there shows up here, and
the consistency tests notice drift.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ai.config import AiSettings
from assignment.config import AssignmentSettings
from leadflow.service import SERVICE_NAMES, default_port
from leadflow.settings import SERVICE_SECRETS, Settings
from leads.config import LeadsSettings
from wa_consultant.config import ConsultantSessionSettings
from wa_livia.config import LiviaSessionSettings

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "ghcr.io/leadflow/leadflow:latest"
PART_OF = {"app.kubernetes.io/part-of": "leadflow"}
SECRET_SETTINGS = (
    "JWT_SECRET",
    "WEBHOOK_SECRET",
    "ADMIN_PASSWORD",
    "GROQ_API_KEY",
    "DATABASE_URL",
    "RABBITMQ_URL",
)
# Every service that owns tables, in order: wa-consultant's first migration carries the
# inbox over from the leads service's tables (wa-livia's takes the same care of Lívia's
# conversations, whatever the order).
MIGRATE_ALL = " && ".join(
    f"leadflow migrate {name}" for name in ("leads", "assignment", "wa-consultant", "wa-livia")
)

PUBLIC_HOST = "leadflow.example.com"
# (path, service, pathType): what the ingress routes; everything else answers 404.
PUBLIC_PATHS = (
    ("/ws", "realtime", "Prefix"),
    ("/api/events", "realtime", "Prefix"),
    ("/api", "gateway", "Prefix"),
    ("/web", "gateway", "Prefix"),  # the console's files
    ("/", "gateway", "Exact"),  # the console's page
)
# Settings a single process sets for itself, not shared configuration.
PER_PROCESS = ("PORT",)


@dataclass(frozen=True)
class Spec:
    name: str
    singleton: bool = False  # a WhatsApp session: one replica, its own volume
    replicas: int = 2
    max_replicas: int = 8
    cpu: tuple[str, str] = ("100m", "1000m")
    memory: tuple[str, str] = ("192Mi", "512Mi")
    public: bool = False  # reached through the ingress
    egress_internet: tuple[int, ...] = ()  # WhatsApp or Groq

    @property
    def port(self) -> int:
        return default_port(self.name, Settings(_env_file=None))


SPECS = {
    spec.name: spec
    for spec in (
        Spec("gateway", public=True, max_replicas=10),
        Spec("realtime", public=True, max_replicas=10, memory=("256Mi", "1Gi")),
        Spec("leads", max_replicas=8),
        Spec("assignment", max_replicas=6),
        Spec("ai", max_replicas=8, egress_internet=(443,)),
        Spec("wa-consultant", singleton=True, replicas=1, egress_internet=(443, 5222)),
        Spec("wa-livia", singleton=True, replicas=1, egress_internet=(443, 5222)),
    )
}
assert tuple(SPECS) == SERVICE_NAMES or set(SPECS) == set(SERVICE_NAMES), "a service is missing"

# Production values of every shared, non-secret setting (the ConfigMap).
CONFIG: dict[str, str] = {
    "LEADFLOW_ENV": "production",
    "BROKER_NAMESPACE": "",
    "DATA_DIR": "/data",
    "HOST": "0.0.0.0",
    "GATEWAY_PORT": "8000",
    "REALTIME_PORT": "8001",
    "REALTIME_PUBLIC_URL": "",  # the Ingress serves realtime on the console's own origin
    "CONSOLE_ORIGINS": "",
    "SERVICE_PORT_BASE": "8100",
    "ACCESS_TOKEN_TTL": "900",
    "REFRESH_TOKEN_TTL": "604800",
    "ADMIN_EMAIL": "admin@example.com",
    "WHATSAPP_TRANSPORT": "neonize",
    "WHATSAPP_SESSION_DIR": "/data/whatsapp",
    "RATE_LIMIT_PER_MINUTE": "1200",
    "RATE_LIMIT_BURST": "200",
    "LOGIN_RATE_LIMIT_PER_MINUTE": "30",
    # The pod network: only the ingress controller may reach the gateway (NetworkPolicy),
    # so X-Forwarded-For is trusted from it alone.
    "FORWARDED_ALLOW_IPS": "10.0.0.0/8",
    "DEFAULT_COUNTRY": "BR",
    "WEBHOOK_REQUIRE_TIMESTAMP": "false",
    "RPC_TIMEOUT_S": "5",
    "CONSUMER_PREFETCH": "32",
    "DB_POOL_SIZE": "20",
    "MAX_DELIVERIES": "5",
    "OUTAGE_RETRY_S": "60",
    "LOG_LEVEL": "INFO",
    "MIGRATE_ON_START": "false",  # the migration Job / one-shot service does it
}


# A service's own knobs (its settings class beyond the shared Settings): given to that
# service alone; empty in production means the code's default.
SERVICE_SETTINGS: dict[str, type[Settings]] = {
    "ai": AiSettings,
    "assignment": AssignmentSettings,
    "leads": LeadsSettings,
    "wa-consultant": ConsultantSessionSettings,
    "wa-livia": LiviaSessionSettings,
}
OWN_CONFIG: dict[str, dict[str, str]] = {name: {} for name in SERVICE_SETTINGS} | {
    "ai": {
        "GROQ_MODEL": "llama-3.3-70b-versatile",
        "GROQ_STT_MODEL": "whisper-large-v3-turbo",
        "GROQ_TIMEOUT_S": "3",
        "LIVIA_PROPERTY_MONTHLY_RATE": "0.0099",
        "LIVIA_VEHICLE_MONTHLY_RATE": "0.0159",
    },
    "assignment": {"ASSIGNMENT_POLICY": "round_robin", "ASSIGNMENT_SKIP_OFFLINE": "false"},
    "wa-livia": {"LIVIA_DEBOUNCE_MS": "1500"},
}


def setting_names(settings: type[Settings] = Settings) -> list[str]:
    return sorted(str(f.validation_alias) for f in settings.model_fields.values())


def own_settings(service: str) -> dict[str, str]:
    """The settings only `service` reads, with their production values (what the ConfigMap
    already gives every pod is not repeated)."""
    settings = SERVICE_SETTINGS.get(service)
    if settings is None:
        return {}
    given = set(setting_names()) | set(CONFIG)
    names = [name for name in setting_names(settings) if name not in given]
    return {name: OWN_CONFIG[service].get(name, "") for name in names}


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, **PART_OF}


# Read-only root, no privilege escalation, no capabilities: every container alike.
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
OPTIONAL_SECRETS = ("GROQ_API_KEY",)  # without it, the rule-based classifier and Lívia run


def secret_env(process: str) -> list[dict[str, Any]]:
    """Only the secrets this process uses (SERVICE_SECRETS), each by its key."""
    return [
        {
            "name": name,
            "valueFrom": {
                "secretKeyRef": {
                    "name": "leadflow-secrets",
                    "key": name,
                    **({"optional": True} if name in OPTIONAL_SECRETS else {}),
                }
            },
        }
        for name in SERVICE_SECRETS[process]
    ]


def container(spec: Spec) -> dict[str, Any]:
    probe = {
        "httpGet": {"path": "/readyz", "port": "http"},
        "periodSeconds": 5,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    volume_mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if spec.singleton:
        volume_mounts.append({"name": "sessions", "mountPath": "/data/whatsapp"})
    return {
        "name": spec.name,
        "image": IMAGE,
        "args": ["serve", spec.name],
        "ports": [{"name": "http", "containerPort": spec.port}],
        "env": [
            {"name": "PORT", "value": str(spec.port)},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            *secret_env(spec.name),
            *(
                {"name": name, "value": value}
                for name, value in own_settings(spec.name).items()
                if name not in SECRET_SETTINGS  # secret_env gives those
            ),
        ],
        "envFrom": [{"configMapRef": {"name": "leadflow-config"}}],
        "readinessProbe": probe,
        "livenessProbe": {
            **probe,
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "startupProbe": {
            **probe,
            "httpGet": {"path": "/healthz", "port": "http"},
            "failureThreshold": 30,
            "periodSeconds": 2,
        },
        "resources": {
            "requests": {"cpu": spec.cpu[0], "memory": spec.memory[0]},
            "limits": {"cpu": spec.cpu[1], "memory": spec.memory[1]},
        },
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": volume_mounts,
    }


def pod_spec(spec: Spec) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": labels(spec.name),
            "annotations": {
                # Scraped in-cluster (the monitoring namespace may reach every pod); the
                # ingress does not route /metrics.
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(spec.port),
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            # Drain: HTTP in flight (15 s), then running handlers (20 s), then exit.
            "terminationGracePeriodSeconds": 45,
            # No service talks to the Kubernetes API: no token in the pod to steal.
            "automountServiceAccountToken": False,
            "securityContext": POD_SECURITY,
            "containers": [container(spec)],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


def workload(spec: Spec) -> list[dict[str, Any]]:
    meta = {"name": spec.name, "labels": labels(spec.name)}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "selector": labels(spec.name),
            "ports": [{"name": "http", "port": spec.port, "targetPort": "http"}],
        },
    }
    if spec.singleton:
        service["spec"]["clusterIP"] = "None"
        statefulset = {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta,
            "spec": {
                "serviceName": spec.name,
                "replicas": 1,
                "selector": {"matchLabels": labels(spec.name)},
                "template": pod_spec(spec),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "sessions"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ],
            },
        }
        return [statefulset, service]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": labels(spec.name)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": pod_spec(spec),
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": spec.replicas,
            "maxReplicas": spec.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels(spec.name)}},
    }
    return [deployment, service, hpa, pdb]


# RabbitMQ and PostgreSQL run beside leadflow (an operator or a chart), labelled as the
# common charts label them.
BACKING_PODS = {
    "RABBITMQ_URL": ({"app.kubernetes.io/name": "rabbitmq"}, 5672),
    "DATABASE_URL": ({"app.kubernetes.io/name": "postgresql"}, 5432),
}
# The internet, never the cluster's own networks nor the cloud metadata endpoint.
PUBLIC_INTERNET = {
    "ipBlock": {
        "cidr": "0.0.0.0/0",
        "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"],
    }
}


def egress_rules(process: str, internet_ports: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """DNS, the backing services this process uses, and the internet ports it needs:
    every rule names where it may go."""
    rules: list[dict[str, Any]] = [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    for secret, (pod_labels, port) in BACKING_PODS.items():
        if secret in SERVICE_SECRETS[process]:
            rules.append(
                {
                    "to": [{"podSelector": {"matchLabels": pod_labels}}],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
            )
    if internet_ports:
        rules.append(
            {
                "to": [PUBLIC_INTERNET],
                "ports": [{"protocol": "TCP", "port": p} for p in internet_ports],
            }
        )
    return rules


def network_policies() -> list[dict[str, Any]]:
    policies: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "labels": PART_OF},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }
    ]
    for spec in SPECS.values():
        sources: list[dict[str, Any]] = [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ]
        if spec.public:
            sources.append(
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                    }
                }
            )
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": spec.name, "labels": labels(spec.name)},
                "spec": {
                    "podSelector": {"matchLabels": labels(spec.name)},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [
                        {"from": sources, "ports": [{"protocol": "TCP", "port": spec.port}]}
                    ],
                    "egress": egress_rules(spec.name, spec.egress_internet),
                },
            }
        )
    policies.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "migrate", "labels": labels("migrate")},
            "spec": {
                "podSelector": {"matchLabels": labels("migrate")},
                "policyTypes": ["Egress"],
                "egress": egress_rules("migrate"),
            },
        }
    )
    return policies


def shared_objects() -> dict[str, list[dict[str, Any]]]:
    secret_template = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "leadflow-secrets", "labels": PART_OF},
        "type": "Opaque",
        # A template: fill these in (or use an external secrets operator); never commit values.
        "stringData": {name: "" for name in SECRET_SETTINGS},
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "leadflow-config", "labels": PART_OF},
        "data": CONFIG,
    }
    migrate = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "leadflow-migrate", "labels": labels("migrate")},
        "spec": {
            "backoffLimit": 3,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": labels("migrate")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "migrate",
                            "image": IMAGE,
                            "command": [
                                "sh",
                                "-c",
                                MIGRATE_ALL,
                            ],
                            "env": [
                                {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
                                *secret_env("migrate"),
                            ],
                            "envFrom": [{"configMapRef": {"name": "leadflow-config"}}],
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }

    def route(path: str, service: str, path_type: str = "Prefix") -> dict[str, Any]:
        return {
            "path": path,
            "pathType": path_type,
            "backend": {"service": {"name": service, "port": {"number": SPECS[service].port}}},
        }

    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "leadflow",
            "labels": PART_OF,
            "annotations": {
                # WebSocket and SSE connections are long-lived: no proxy timeout or buffering.
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
                "nginx.ingress.kubernetes.io/proxy-buffering": "off",
                "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
                "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                # The certificate in `leadflow-tls`: cert-manager fills it from this issuer.
                "cert-manager.io/cluster-issuer": "letsencrypt",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [PUBLIC_HOST], "secretName": "leadflow-tls"}],
            "rules": [
                {
                    "host": PUBLIC_HOST,
                    # Only the public surface: the API, the console, the realtime streams.
                    # /metrics, /docs, /openapi.json and the probes stay in-cluster.
                    "http": {"paths": [route(path, svc, kind) for path, svc, kind in PUBLIC_PATHS]},
                }
            ],
        },
    }
    return {
        "configmap.yaml": [config],
        "secret.template.yaml": [secret_template],
        "migrate-job.yaml": [migrate],
        "ingress.yaml": [ingress],
        "network-policies.yaml": network_policies(),
    }


SECRETS_FILE = "secrets.env"  # per overlay, never committed (.gitignore)


def overlay_secrets() -> dict[str, Any]:
    """Each overlay builds the Secret from its own `secrets.env`: `kustomize build` fails
    without it, so no overlay runs on empty (or built-in development) secrets."""
    return {
        "name": "leadflow-secrets",
        "behavior": "replace",
        "envs": [SECRETS_FILE],
        "options": {"disableNameSuffixHash": True},
    }


def secrets_example() -> str:
    lines = [
        f"# Copy to {SECRETS_FILE} (never commit it) and fill in every value.",
        "# JWT_SECRET and WEBHOOK_SECRET: 32+ random characters (openssl rand -hex 32).",
        "# ADMIN_PASSWORD: 12+ characters. GROQ_API_KEY may stay empty (rule-based Lívia).",
    ]
    return "\n".join([*lines, *(f"{name}=" for name in SECRET_SETTINGS)]) + "\n"


def kubernetes_files() -> dict[str, str]:
    documents = shared_objects() | {f"{s.name}.yaml": workload(s) for s in SPECS.values()}
    files = {f"deploy/base/{name}": dump_all(docs) for name, docs in documents.items()}
    files["deploy/base/kustomization.yaml"] = dump_all(
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "labels": [{"pairs": PART_OF}],
                "resources": sorted(documents),
            }
        ]
    )
    files["deploy/overlays/dev/kustomization.yaml"] = dump_all(
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": "leadflow-dev",
                "resources": ["../../base"],
                "replicas": [
                    {"name": s.name, "count": 1} for s in SPECS.values() if not s.singleton
                ],
                "configMapGenerator": [
                    {
                        "name": "leadflow-config",
                        "behavior": "merge",
                        "literals": ["LEADFLOW_ENV=development", "LOG_LEVEL=DEBUG"],
                    }
                ],
                "secretGenerator": [overlay_secrets()],
            }
        ]
    )
    files["deploy/overlays/prod/kustomization.yaml"] = dump_all(
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": "leadflow",
                "resources": ["../../base"],
                "images": [{"name": IMAGE.rsplit(":", 1)[0], "newTag": "0.1.0"}],
                "configMapGenerator": [
                    {
                        "name": "leadflow-config",
                        "behavior": "merge",
                        # Every form sender signs a timestamp: captured requests cannot
                        # be replayed.
                        "literals": ["WEBHOOK_REQUIRE_TIMESTAMP=true"],
                    }
                ],
                "secretGenerator": [overlay_secrets()],
            }
        ]
    )
    for overlay in ("dev", "prod"):
        files[f"deploy/overlays/{overlay}/secrets.env.example"] = secrets_example()
    return files


COMPOSE_SUBNET = "172.28.0.0/24"
COMPOSE_PROXY_IP = "172.28.0.10"


def compose() -> str:
    environment = {name: f"${{{name}:-{value}}}" for name, value in CONFIG.items()}
    environment |= {
        "LEADFLOW_ENV": "${LEADFLOW_ENV:-development}",
        "WHATSAPP_TRANSPORT": "${WHATSAPP_TRANSPORT:-simulator}",
        "ADMIN_EMAIL": "${ADMIN_EMAIL:-admin@leadflow.local}",
        "DATABASE_URL": "postgresql://leadflow:${POSTGRES_PASSWORD:-leadflow}@postgres:5432/leadflow",
        "RABBITMQ_URL": "amqp://leadflow:${RABBITMQ_PASSWORD:-leadflow}@rabbitmq:5672/",
        "JWT_SECRET": "${JWT_SECRET:?set JWT_SECRET in .env (32+ characters)}",
        "WEBHOOK_SECRET": "${WEBHOOK_SECRET:?set WEBHOOK_SECRET in .env}",
        "ADMIN_PASSWORD": "${ADMIN_PASSWORD:?set ADMIN_PASSWORD in .env}",
        # Only the proxy's X-Forwarded-For names the client (it has a fixed address).
        "FORWARDED_ALLOW_IPS": COMPOSE_PROXY_IP,
    }
    backing = {
        "rabbitmq": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    services: dict[str, Any] = {
        "rabbitmq": {
            "image": "rabbitmq:3.13-management",
            "environment": {
                "RABBITMQ_DEFAULT_USER": "leadflow",
                "RABBITMQ_DEFAULT_PASS": "${RABBITMQ_PASSWORD:-leadflow}",
            },
            # The management UI is not published: `docker compose port` or an override
            # file publishes it on 127.0.0.1 for whoever needs it.
            "volumes": ["rabbitmq-data:/var/lib/rabbitmq"],
            "healthcheck": {
                "test": ["CMD", "rabbitmq-diagnostics", "-q", "ping"],
                "interval": "5s",
                "timeout": "10s",
                "retries": 20,
            },
        },
        "postgres": {
            "image": "postgres:16",
            "environment": {
                "POSTGRES_USER": "leadflow",
                "POSTGRES_DB": "leadflow",
                "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-leadflow}",
            },
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": {
                "test": ["CMD-SHELL", "pg_isready -U leadflow -d leadflow"],
                "interval": "5s",
                "timeout": "5s",
                "retries": 20,
            },
        },
        "migrate": {
            "build": ".",
            "image": "leadflow:latest",
            "entrypoint": ["sh", "-c"],
            "command": [MIGRATE_ALL],
            "environment": environment,
            "depends_on": backing,
            "restart": "no",
        },
    }
    for spec in SPECS.values():
        probe_url = f"http://127.0.0.1:{spec.port}/readyz"
        own = {name: f"${{{name}:-{value}}}" for name, value in own_settings(spec.name).items()}
        service: dict[str, Any] = {
            "image": "leadflow:latest",
            "command": ["serve", spec.name],
            "environment": {
                **environment,
                **own,
                "PORT": str(spec.port),
            },
            "depends_on": {**backing, "migrate": {"condition": "service_completed_successfully"}},
            "restart": "unless-stopped",
            "stop_grace_period": "45s",
            "healthcheck": {
                "test": [
                    "CMD",
                    "python",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen('{probe_url}', timeout=2)",
                ],
                "interval": "5s",
                "timeout": "5s",
                "retries": 12,
                "start_period": "10s",
            },
        }
        if spec.singleton:
            service["volumes"] = [f"{spec.name}-sessions:/data/whatsapp"]
        services[spec.name] = service
    services["proxy"] = {
        "image": "nginx:1.27-alpine",
        "networks": {"default": {"ipv4_address": COMPOSE_PROXY_IP}},
        "ports": ["${LEADFLOW_HTTP_PORT:-8080}:80"],
        "volumes": ["./deploy/compose/nginx.conf:/etc/nginx/conf.d/default.conf:ro"],
        "depends_on": {
            "gateway": {"condition": "service_healthy"},
            "realtime": {"condition": "service_healthy"},
        },
        "restart": "unless-stopped",
    }
    networks = {"default": {"ipam": {"config": [{"subnet": COMPOSE_SUBNET}]}}}
    volumes = {"rabbitmq-data": {}, "postgres-data": {}}
    volumes |= {f"{s.name}-sessions": {} for s in SPECS.values() if s.singleton}
    header = (
        "# Rendered by deploy/render.py from one table; edit that, not this file.\n"
        "# docker compose up  ->  http://localhost:8080 (REST, /ws and /api/events)\n"
    )
    return header + dump_all([{"services": services, "networks": networks, "volumes": volumes}])


def env_example() -> str:
    lines = [
        "# Every setting leadflow reads (see README). Copy to .env and fill the secrets.",
        "# Empty means: use the default.",
    ]
    # For `make run` and compose alike: container paths stay empty (their defaults apply).
    defaults = {
        **CONFIG,
        "LEADFLOW_ENV": "development",
        "WHATSAPP_TRANSPORT": "simulator",
        "ADMIN_EMAIL": "admin@leadflow.local",
        "MIGRATE_ON_START": "true",
        "DATA_DIR": "",
        "HOST": "",
        "WHATSAPP_SESSION_DIR": "",
    }
    for name in setting_names():
        if name in PER_PROCESS:
            lines.append(f"# {name}=  (set per process; compose and Kubernetes set it per service)")
        else:
            lines.append(f"{name}={defaults.get(name, '')}")
    for service in SERVICE_SETTINGS:
        lines.append(f"# {service} only")
        lines += [f"{name}={value}" for name, value in own_settings(service).items()]
    lines += [
        "# compose only",
        "POSTGRES_PASSWORD=leadflow",
        "RABBITMQ_PASSWORD=leadflow",
        "LEADFLOW_HTTP_PORT=8080",
    ]
    return "\n".join(lines) + "\n"


def dump_all(documents: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False, width=100)


def rendered() -> dict[str, str]:
    return kubernetes_files() | {"docker-compose.yml": compose(), ".env.example": env_example()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for relative, text in rendered().items():
        path = ROOT / relative
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(relative)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("out of date (run deploy/render.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
