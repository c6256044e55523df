"""Warm kernels for the compute notebooks: one per worker thread, reused between notebooks
(namespace emptied), on IPC sockets, with a papermill engine that runs a notebook on a given kernel."""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Any


def _kernel_start_failure(e: Exception) -> bool:
    """True for the errors of a kernel that failed to start or connect (worth a retry), False
    for problems of the notebook itself (bad JSON, a missing parameter...)."""
    from papermill.exceptions import PapermillException
    from zmq import ZMQError

    if isinstance(e, PapermillException):
        return False
    return isinstance(e, (RuntimeError, TimeoutError, ConnectionError, ZMQError))


_KM_CLASS = None
_ENGINE = None
_LOCK = threading.Lock()


def _quiet_kernel_manager():
    """A kernel manager on IPC sockets (no TCP port races) whose kernel's stderr is discarded
    (ipykernel's start-up warnings would otherwise garble the progress bar)."""
    global _KM_CLASS
    with _LOCK:
        if _KM_CLASS is None:
            import subprocess
            import uuid

            from jupyter_client.manager import AsyncKernelManager
            ipc_dir = tempfile.mkdtemp(prefix="plan-metrics-ipc-")

            class QuietKernelManager(AsyncKernelManager):
                def __init__(self, **kw):
                    super().__init__(**kw)
                    self.transport = "ipc"
                    self.ip = os.path.join(ipc_dir, uuid.uuid4().hex[:12])

                async def start_kernel(self, **kw):
                    kw.setdefault("stderr", subprocess.DEVNULL)
                    return await super().start_kernel(**kw)

            _KM_CLASS = QuietKernelManager
    return _KM_CLASS


#: Run (silently) in a reused kernel after each notebook: the library's memo of derived frames
#: and the namespace emptied (%reset also garbage-collects), memory back to the system, what
#: survives (the imported modules) frozen out of the collector's sight, the execution counter at 1.
#: Frozen, the modules are not traversed again by every later collection: a reset took 50 to 75
#: ms with pandas and the library loaded, 5 ms after (108 notebooks in the small district's
#: folder). The memo is emptied first so that no frame is frozen: a frozen object in a reference
#: cycle is never collected.
_RESET = ("from plan_metrics.kinds._population import clear_memo as _c; _c(); del _c\n"
          "get_ipython().run_line_magic('reset', '-f')\n"
          "from plan_metrics.runs import release_memory as _r; _r(collect=False); del _r\n"
          "import gc as _gc; _gc.freeze(); del _gc\n"
          "get_ipython().execution_count = 1\n")


def _pooled_engine() -> str:
    """Register (once) the papermill engine that runs a notebook on a given, running kernel.

    papermill's own engine (nbclient) starts a kernel for every notebook and shuts it down after;
    starting a kernel and importing pandas and the library costs more than most notebooks' work.
    This engine takes the kernel manager ``km`` of a warm kernel, empties its namespace and resets
    its execution counter, runs the notebook exactly as papermill does, and leaves the kernel up.
    """
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            from papermill.clientwrap import PapermillNotebookClient
            from papermill.engines import NBClientEngine, papermill_engines
            from papermill.log import logger
            from papermill.utils import merge_kwargs, remove_args

            class ResettingClient(PapermillNotebookClient):
                def papermill_execute_cells(self):
                    super().papermill_execute_cells()
                    # Empty the namespace, free the notebook's tables while the kernel waits,
                    # and number the next notebook's cells from 1 again.
                    self.wait_for_reply(self.kc.execute(_RESET, silent=True, store_history=False))

            class PooledEngine(NBClientEngine):
                @classmethod
                def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                             stdout_file=None, stderr_file=None,
                                             start_timeout=60, execution_timeout=None, **kwargs):
                    kernel = kwargs.pop("kernel")
                    kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
                    final = merge_kwargs(kwargs, timeout=execution_timeout,
                                         startup_timeout=start_timeout, kernel_name=kernel_name,
                                         log=logger, log_output=log_output,
                                         stdout_file=stdout_file, stderr_file=stderr_file)
                    client = ResettingClient(nb_man, km=kernel.km, **final)
                    # The client (its zmq channels) is kept too: connecting a new one costs more
                    # than a small notebook's whole run (jupyter_client waits for the channels).
                    client.kc = kernel.kc
                    try:
                        return client.execute()
                    finally:
                        kernel.kc = client.kc

            papermill_engines.register("plan-metrics-pooled", PooledEngine)
            _ENGINE = "plan-metrics-pooled"
    return _ENGINE


@dataclass
class _Kernel:
    """A pooled kernel: its manager and, once connected, its client."""
    km: Any
    kc: Any = None


class _KernelPool:
    """One warm kernel per worker thread, reused by the notebooks that thread runs.

    Each notebook still runs top to bottom in a kernel whose namespace was emptied; what carries
    over is only the imported modules (pandas, plan_metrics), which is the point. A kernel that
    saw any error is shut down and replaced.
    """

    def __init__(self):
        self._local = threading.local()
        self._all: list[_Kernel] = []
        self._lock = threading.Lock()
        self.closed = False

    def get(self) -> _Kernel:
        if self.closed:
            raise KeyboardInterrupt
        kernel = getattr(self._local, "kernel", None)
        if kernel is not None and not _sync(kernel.km.is_alive)():
            self.discard()
            kernel = None
        if kernel is None:
            kernel = _Kernel(_quiet_kernel_manager()(kernel_name="python3"))
            self._local.kernel = kernel
            with self._lock:
                if self.closed:
                    raise KeyboardInterrupt
                self._all.append(kernel)
        return kernel

    #: A kernel that still holds more than this after its reset is replaced by a fresh one
    #: (a large district's surveys leave some hundred MB behind in the allocator).
    RECYCLE_BYTES = 300 << 20

    def recycle_if_large(self) -> None:
        """Shut this thread's kernel down if it keeps much memory after its last notebook."""
        kernel = getattr(self._local, "kernel", None)
        if kernel is None:
            return
        try:
            import psutil
            pid = kernel.km.provisioner.process.pid
            large = psutil.Process(pid).memory_full_info().uss > self.RECYCLE_BYTES
        except Exception:  # noqa: BLE001 - no psutil, no process: keep the kernel
            return
        if large:
            self.discard()

    def discard(self) -> None:
        """Shut this thread's kernel down (the next get() starts a new one)."""
        kernel = getattr(self._local, "kernel", None)
        self._local.kernel = None
        if kernel is not None:
            _shutdown(kernel)

    def close(self) -> None:
        """Shut every kernel down (also those running a notebook: used to abort a run)."""
        with self._lock:
            self.closed = True
            kernels, self._all = self._all, []
        for kernel in kernels:
            _shutdown(kernel)


def release_memory(collect: bool = True) -> None:
    """Give freed memory back to the operating system: garbage-collect (unless ``collect`` is
    False), empty pyarrow's pool (pandas' strings live there) and trim the C heap (Linux)."""
    import ctypes
    import gc

    if collect:
        gc.collect()
    try:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - an older pyarrow
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


def _sync(coro_fn):
    from jupyter_core.utils import run_sync
    return run_sync(coro_fn)


def _shutdown(kernel: _Kernel) -> None:
    try:
        if kernel.kc is not None:
            kernel.kc.stop_channels()
            kernel.kc = None
    except Exception:  # noqa: BLE001 - closing sockets of a dead kernel
        pass
    try:
        if kernel.km.has_kernel:
            _sync(kernel.km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - already gone
        pass
