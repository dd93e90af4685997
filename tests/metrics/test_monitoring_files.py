"""docker/'s Grafana dashboard and Prometheus alert rules query only metrics /metrics serves,
and the rules pass promtool (Debian's `prometheus` package; .ci/run installs it)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import scrape
from .test_metrics_values import seeded

pytestmark = pytest.mark.django_db

DOCKER = Path(__file__).resolve().parents[2] / "docker"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "tokenadmin.json"
RULES = DOCKER / "prometheus" / "alerts.yml"
# PromQL words that look like metric names but are functions, keywords or label names.
NOT_METRICS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "or", "and", "le", "label_values",
    "realm", "type", "client", "within", "idle", "status", "endpoint", "state", "outcome",
}  # fmt: skip


def queried_metrics(expr: str) -> set[str]:
    """The metric names an expression reads (label matchers, strings and functions left out)."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr))
    return {name for name in names if name not in NOT_METRICS}


def dashboard_exprs() -> list[str]:
    document = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in document["panels"] for t in panel["targets"]]
    exprs += [v["definition"] for v in document["templating"]["list"]]
    return exprs


def rule_exprs() -> list[str]:
    document = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def test_every_metric_the_dashboard_and_the_rules_query_is_served(kc, client, metrics_on):
    # A refreshed realm (its Keycloak calls counted): every family has samples.
    seeded(kc)
    served = set(scrape(client))

    exprs = dashboard_exprs() + rule_exprs()
    queried = set().union(*(queried_metrics(e) for e in exprs))
    assert "tokenadmin_keycloak_call_seconds_bucket" in queried  # the scanner sees names
    assert "tokenadmin_index_age_seconds" in queried
    assert queried <= served, sorted(queried - served)


def test_the_scanner_leaves_out_labels_strings_and_functions():
    expr = 'sum by (le) (rate(x_bucket{status=~"5..|error"}[5m])) or y > 2 * 300'
    assert queried_metrics(expr) == {"x_bucket", "y"}


def test_the_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus (.ci/run does)"
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_the_alerts_cover_what_the_issue_asks():
    names = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    for wanted in ("IndexStale", "KeycloakErrors", "ReportDeliveryFailures", "RevocationJob"):
        assert any(wanted in name for name in names), wanted
