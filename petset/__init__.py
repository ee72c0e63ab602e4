"""petset: stateful services managed the way Kubernetes manages StatefulSets."""

__version__ = "0.1.0"
