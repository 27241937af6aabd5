"""Preloaded into the forkserver of the local worker pool (see workers.HandlerPool).

moto's threads and the dashboards run in the ``clickstream up`` process; if it
is killed (kill -9), the forkserver it started would outlive it. Imported by
the forkserver itself, this asks Linux to end the forkserver when its parent
ends; the workers do the same for the forkserver (workers._die_with_parent).
Imported anywhere else it does nothing.
"""

from __future__ import annotations

import sys

from clickstream.local.workers import _die_with_parent

if "multiprocessing.forkserver" in " ".join(getattr(sys, "orig_argv", [])):
    _die_with_parent()
