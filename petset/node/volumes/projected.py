"""Projected volumes: several sources (configMap, secret, downwardAPI) in one directory."""

from __future__ import annotations

import logging
from typing import Any

from petset.api.meta import Obj, name_of, namespace_of
from petset.node.volumes.sources import (
    Lookup,
    Payload,
    VolumeNotReady,
    config_map_payload,
    downward_payload,
    secret_payload,
)


def projected_payload(
    source: dict[str, Any], pod: Obj, lookup: Lookup, log: logging.Logger
) -> Payload:
    """All sources merged; a path given by two sources is an error, as in Kubernetes.

    `defaultMode` applies to every source when set; otherwise each keeps its own
    default (secrets 0600, the rest 0644). serviceAccountToken and clusterTrustBundle
    sources have no local meaning and are skipped with a log line.
    """
    ns = namespace_of(pod) or "default"
    mode = source.get("defaultMode")
    out: Payload = {}
    for item in source.get("sources") or []:
        if "configMap" in item:
            part = config_map_payload(item["configMap"], ns, lookup, mode=mode)
        elif "secret" in item:
            part = secret_payload(item["secret"], ns, lookup, mode=mode)
        elif "downwardAPI" in item:
            part = downward_payload(item["downwardAPI"], pod, mode=mode)
        else:
            log.info("pod %s: projected source %s skipped locally", name_of(pod), sorted(item))
            continue
        clash = sorted(set(part) & set(out))
        if clash:
            raise VolumeNotReady(f"projected volume: paths {clash} are given by two sources")
        out.update(part)
    return out
