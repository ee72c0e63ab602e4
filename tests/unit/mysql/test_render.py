"""MySQLCluster rendering: valid Kubernetes objects, roles, no reserved config."""

from __future__ import annotations

import copy

from petset.api.loader import Document
from petset.api.petset_kinds import parse_mysqlcluster
from petset.api.validation import validate_documents
from petset.engines.mysql.config import MemberConfig, render_mycnf, reserved_problems
from petset.engines.mysql.render import RenderContext, render_all, render_secret
from petset.engines.mysql.sync import is_subset

CLUSTER = {
    "apiVersion": "petset.dev/v1alpha1",
    "kind": "MySQLCluster",
    "metadata": {"name": "db", "namespace": "default", "uid": "u-1"},
    "spec": {"replicas": 3, "config": {"max_connections": 500}},
}


def test_rendered_objects_validate_against_kubernetes_schemas() -> None:
    spec = parse_mysqlcluster(CLUSTER).spec
    objs = render_all(CLUSTER, spec, RenderContext(), initialized=False)
    objs.append(
        render_secret(
            CLUSTER, spec, {"admin-password": "a", "replication-password": "r", "app-password": "p"}
        )
    )
    docs = [Document("render", i, copy.deepcopy(o)) for i, o in enumerate(objs)]
    validated = validate_documents(docs)
    kinds = sorted(v.obj["kind"] for v in validated)
    assert kinds == ["ConfigMap", "Secret", "Service", "Service", "Service", "StatefulSet"]


def test_rw_and_ro_services_select_on_role() -> None:
    spec = parse_mysqlcluster(CLUSTER).spec
    objs = {
        (o["kind"], o["metadata"]["name"]): o
        for o in render_all(CLUSTER, spec, RenderContext(), initialized=True)
    }
    assert objs["Service", "db-rw"]["spec"]["selector"]["petset.dev/role"] == "primary"
    assert objs["Service", "db-ro"]["spec"]["selector"]["petset.dev/role"] == "replica"
    assert objs["Service", "db"]["spec"]["clusterIP"] == "None"
    sts = objs["StatefulSet", "db"]["spec"]
    assert sts["serviceName"] == "db" and sts["updateStrategy"] == {"type": "OnDelete"}
    assert objs["ConfigMap", "db-config"]["data"]["initialized"] == "true"


def test_mycnf_keeps_petset_settings_and_user_parameters() -> None:
    cnf = render_mycnf(
        MemberConfig(ordinal=2, bind_address="127.10.0.3", report_host="db-2.db",
                     datadir="/var/lib/mysql", socket="/run/mysqld/mysqld.sock"),
        {"max_connections": 500, "server_id": 7, "innodb_buffer_pool_size": "256M"},
    )  # fmt: skip
    assert "server_id = 102" in cnf and "server_id = 7" not in cnf
    assert "max_connections = 500" in cnf and "innodb_buffer_pool_size = 256M" in cnf
    assert "rpl_semi_sync_master_wait_point = AFTER_SYNC" in cnf
    assert "read_only = ON" in cnf and "bind_address = 127.10.0.3" in cnf
    assert reserved_problems({"server_id": 1, "log-bin": "x"}) == [
        "spec.config.log-bin: managed by petset (replication and failover depend on it); remove it",
        "spec.config.server_id: managed by petset (replication and failover depend on it); "
        "remove it",
    ]


def test_subset_comparison_ignores_defaulted_fields() -> None:
    assert is_subset({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}], "b": 3})
    assert not is_subset({"a": [{"x": 1}]}, {"a": [{"x": 2}]})
    assert not is_subset({"a": [1, 2]}, {"a": [1]})
