"""Connecting to Ray, shared by everything that can run on a cluster (``--ray``)."""

from __future__ import annotations

from llmcompiler.errors import LLMCError


def connect(address: str):
    """Return the ``ray`` module, connected to ``address`` ("auto", "ray://HOST:PORT" or
    "local" to start a local instance) unless already connected.

    Raises:
        LLMCError: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise LLMCError("--ray needs Ray: pip install 'ray>=2.9'") from None
    if not ray.is_initialized():
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
        )
    return ray
