"""Application workloads: one component per app (`AppWorkload`), deploying it with the
strategy its config names, all built on the one pod template in `pod.py`."""

from .app import AppWorkload

__all__ = ["AppWorkload"]
