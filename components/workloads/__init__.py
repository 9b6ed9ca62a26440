"""Application workloads: one component per app (`AppWorkload`), deploying it with the
strategy its config names, all built on the one pod template in `pod.py`."""

from .app import AppWorkload
from .recreate import ReleaseHooks, release_hook_account
from .rollout import Ordering

__all__ = ["AppWorkload", "Ordering", "ReleaseHooks", "release_hook_account"]
