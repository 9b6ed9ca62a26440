"""GitOps releases: the stack's GitOps apps rendered by the strategy components into
the release repository Argo CD syncs (render.py), and new builds recorded in the stack
file (stackfile.py). `python -m components.release` is the command-line tool."""

from .render import RenderedApp, RenderError, gitops_apps, render, write
from .stackfile import StackFileError, read_stack_config, set_next_image

__all__ = [
    "RenderError",
    "RenderedApp",
    "StackFileError",
    "gitops_apps",
    "read_stack_config",
    "render",
    "set_next_image",
    "write",
]
