"""Manifests the foundation tests apply."""

from __future__ import annotations

CONFIG_AND_STS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  mode: demo
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: app
spec:
  serviceName: app
  replicas: {replicas}
  selector:
    matchLabels: {{app: app}}
  template:
    metadata:
      labels: {{app: app}}
    spec:
      containers:
        - name: main
          image: debian:12
          command: ["sleep", "3600"]
"""


def config_map(name: str, value: str = "v") -> str:
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  key: "{value}"
"""


def many_config_maps(prefix: str, count: int) -> str:
    return "---\n".join(config_map(f"{prefix}-{i}") for i in range(count))
