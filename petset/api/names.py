"""Kubernetes' name rules: DNS-1123 labels and subdomains, label keys and values, annotations.

Each check returns a list of reasons (empty when valid), as Kubernetes'
`validation.IsDNS1123Label` and friends do, so callers can prefix them with the
document and the field path. The regular expressions are Kubernetes' own
(k8s.io/apimachinery/pkg/util/validation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63
ANNOTATIONS_MAX_BYTES = 256 * 1024

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _example(kind_of_name: str) -> str:
    return {
        "label": "'my-name' or '123-abc'",
        "subdomain": "'example.com' or 'web-0'",
        "dns1035": "'my-name' or 'abc-123'",
    }[kind_of_name]


def dns1123_label(value: str) -> list[str]:
    """Lower-case alphanumerics and '-', starting and ending alphanumeric, at most 63."""
    reasons = []
    if len(value) > DNS1123_LABEL_MAX:
        reasons.append(f"must be no more than {DNS1123_LABEL_MAX} characters")
    if not _DNS1123_LABEL.match(value):
        reasons.append(
            "must consist of lower case alphanumeric characters or '-', and must start and "
            f"end with an alphanumeric character (e.g. {_example('label')})"
        )
    return reasons


def dns1123_subdomain(value: str) -> list[str]:
    """Dot-separated DNS-1123 labels, at most 253 characters."""
    reasons = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        reasons.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        reasons.append(
            "must consist of lower case alphanumeric characters, '-' or '.', and must start "
            f"and end with an alphanumeric character (e.g. {_example('subdomain')})"
        )
    return reasons


def dns1035_label(value: str) -> list[str]:
    """A DNS-1123 label that starts with a letter (Service names)."""
    reasons = []
    if len(value) > DNS1123_LABEL_MAX:
        reasons.append(f"must be no more than {DNS1123_LABEL_MAX} characters")
    if not _DNS1035_LABEL.match(value):
        reasons.append(
            "must consist of lower case alphanumeric characters or '-', start with a letter "
            f"and end with an alphanumeric character (e.g. {_example('dns1035')})"
        )
    return reasons


def qualified_name(value: str) -> list[str]:
    """A label or annotation key: optional DNS-subdomain prefix, '/', then a 63-character name."""
    prefix, slash, name = value.rpartition("/")
    if not slash:
        prefix, name = "", value
    reasons = []
    if slash and not prefix:
        reasons.append("prefix part must be non-empty")
    elif prefix:
        reasons += [f"prefix part {r}" for r in dns1123_subdomain(prefix)]
    if not name:
        reasons.append("name part must be non-empty")
    else:
        if len(name) > QUALIFIED_NAME_MAX:
            reasons.append(f"name part must be no more than {QUALIFIED_NAME_MAX} characters")
        if not _QUALIFIED_NAME.match(name):
            reasons.append(
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                "start and end with an alphanumeric character (e.g. 'MyName' or "
                "'my.name' or '123-abc')"
            )
    return reasons


def label_value(value: str) -> list[str]:
    """Empty, or at most 63 alphanumerics, '-', '_' and '.' starting and ending alphanumeric."""
    reasons = []
    if len(value) > LABEL_VALUE_MAX:
        reasons.append(f"must be no more than {LABEL_VALUE_MAX} characters")
    if value and not _QUALIFIED_NAME.match(value):
        reasons.append(
            "a label value must be empty or consist of alphanumeric characters, '-', '_' or "
            "'.', and must start and end with an alphanumeric character (e.g. 'MyValue' or "
            "'my_value' or '12345')"
        )
    return reasons


def config_key(value: str) -> list[str]:
    """A ConfigMap or Secret data key (it becomes a file name in a volume)."""
    reasons = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        reasons.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    if not _CONFIG_KEY.match(value):
        reasons.append(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        )
    if value in (".", ".."):
        reasons.append(f"must not be {value!r}")
    return reasons


# Per-kind name rules. Kubernetes accepts DNS subdomains for most kinds; some
# names become DNS labels or host names, so they are stricter. petset's own
# kinds name Services and StatefulSets after themselves and need room for the
# suffixes they add.
_LABEL_KINDS = {"Namespace"}
_DNS1035_KINDS = {"Service"}
# A StatefulSet's pods are named <name>-<ordinal> and carry the label
# controller-revision-hash=<name>-<hash> (63 characters at most): Kubernetes
# itself fails to create pods for names over 52 characters.
_MAX_LENGTH = {"StatefulSet": 52, "MySQLCluster": 40, "BackupSchedule": 52}
_LENGTH_WHY = {
    "StatefulSet": "pod names and the controller-revision-hash label add a suffix to it",
    "MySQLCluster": "its StatefulSet, Services, pods and Secrets add suffixes to it",
    "BackupSchedule": "the Backups it creates are named <name>-<time>",
}
_HOSTNAME_KINDS = {"StatefulSet", "MySQLCluster"}


def validate_name(kind: str, name: str) -> list[str]:
    """Reasons `name` is not a valid metadata.name for `kind` (empty when valid)."""
    if not name:
        return ["required"]
    if kind in _LABEL_KINDS:
        reasons = dns1123_label(name)
    elif kind in _DNS1035_KINDS or kind == "MySQLCluster":
        reasons = dns1035_label(name)
    elif kind in _HOSTNAME_KINDS:
        # its pods' names become host names and DNS labels: no dots
        reasons = dns1123_label(name)
    else:
        reasons = dns1123_subdomain(name)
    limit = _MAX_LENGTH.get(kind)
    if limit is not None and len(name) > limit:
        reasons.append(
            f"must be no more than {limit} characters for a {kind} ({_LENGTH_WHY[kind]})"
        )
    if not reasons and name in (".", ".."):
        reasons.append(f"may not be {name!r}")
    return [f"{name!r}: {r}" if r != "required" else r for r in reasons]


def validate_namespace_name(name: str) -> list[str]:
    return [f"{name!r}: {r}" for r in dns1123_label(name)]


def validate_labels(labels: Any, path: str = "metadata.labels") -> list[str]:
    """'field: reason' lines for a label map (keys qualified names, values label values)."""
    if not isinstance(labels, Mapping):
        return [f"{path}: must be a map of string keys to string values"]
    problems = []
    for key, value in labels.items():
        key_s = str(key)
        problems += [f"{path}: key {key_s!r}: {r}" for r in qualified_name(key_s)]
        if not isinstance(value, str):
            problems.append(f"{path}[{key_s}]: must be a string, not {value!r}; quote it in YAML")
            continue
        problems += [f"{path}[{key_s}]: {value!r}: {r}" for r in label_value(value)]
    return problems


def validate_annotations(annotations: Any, path: str = "metadata.annotations") -> list[str]:
    """'field: reason' lines for annotations: qualified-name keys, 256 KiB in total."""
    if not isinstance(annotations, Mapping):
        return [f"{path}: must be a map of string keys to string values"]
    problems = []
    total = 0
    for key, value in annotations.items():
        key_s = str(key)
        problems += [f"{path}: key {key_s!r}: {r}" for r in qualified_name(key_s.lower())]
        if not isinstance(value, str):
            problems.append(f"{path}[{key_s}]: must be a string, not {value!r}; quote it in YAML")
            continue
        total += len(key_s.encode()) + len(value.encode())
    if total > ANNOTATIONS_MAX_BYTES:
        problems.append(
            f"{path}: total size {total} bytes is over the limit of {ANNOTATIONS_MAX_BYTES} "
            "bytes (256 KiB); keep large data in a ConfigMap"
        )
    return problems
