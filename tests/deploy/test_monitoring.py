"""The alert rules and the Grafana dashboard in deploy/monitoring are well formed, and
every metric they reference is one the services export (promtool is not available)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from leadflow.service import SERVICE_NAMES
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan",
}  # fmt: skip


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((MONITORING / "dashboard.json").read_text())
    return document


def exported_metric_names() -> set[str]:
    """Every series name the services can export: each composition root imported, so
    every metric declared anywhere they reach is registered."""
    for name in SERVICE_NAMES:
        importlib.import_module(f"{name.replace('-', '_')}.app")
    names: set[str] = set()
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
    }
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not its functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or word.lower() in PROMQL_WORDS:
            continue
        found.add(word)
    return found


def balanced(expr: str) -> bool:
    pairs, stack = {")": "(", "]": "[", "}": "{"}, []
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', "", expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_every_alert_rule_is_complete() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names repeat"
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["expr"].strip() and balanced(rule["expr"]), rule["alert"]
        assert DURATION.match(rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_the_alerts_cover_what_operators_must_hear_about() -> None:
    covered = {rule["alert"] for rule in alert_rules()}
    assert {
        "LeadflowDeadLetters",
        "LeadflowOutboxBacklogGrowing",
        "LeadflowConsumerLag",
        "LeadflowWhatsAppSessionDisconnected",
        "LeadflowGroqBreakerOpen",
        "LeadflowHttp5xxRate",
    } <= covered


def test_the_dashboard_is_a_grafana_dashboard_of_queries() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 30
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in board["panels"]:
        assert panel["title"] and panel["type"] == "timeseries"
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and balanced(target["expr"]), panel["title"]


def queries() -> list[tuple[str, str]]:
    found = [(rule["alert"], rule["expr"]) for rule in alert_rules()]
    found += [
        (f"panel: {panel['title']}", target["expr"])
        for panel in dashboard()["panels"]
        for target in panel["targets"]
    ]
    return found


@pytest.mark.parametrize(("where", "expr"), queries(), ids=[where for where, _ in queries()])
def test_every_metric_referenced_is_exported_by_the_services(where: str, expr: str) -> None:
    referenced = metrics_in(expr)
    assert referenced, f"{where} reads no metric"
    assert referenced <= exported_metric_names(), referenced - exported_metric_names()


def test_the_metric_check_catches_a_misspelt_metric() -> None:
    expr = 'sum by (queue) (rate(leadflow_mesages_handled_total{outcome="ok"}[5m]))'
    assert metrics_in(expr) == {"leadflow_mesages_handled_total"}
    assert not metrics_in(expr) <= exported_metric_names()
