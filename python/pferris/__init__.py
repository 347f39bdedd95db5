"""pferris: the seed's profiling API (Profiler, auto_tune_workers, parallel_map, ...) over the
pferris C core. See docs/python.md."""
from ._pferris import (Profiler, TimerContext, auto_tune_workers, default_profiler,
                       get_worker_count, parallel_filter, parallel_map,
                       profile_parallel_operation, set_worker_count, core, __version__)

__all__ = ["Profiler", "TimerContext", "auto_tune_workers", "default_profiler",
           "get_worker_count", "parallel_filter", "parallel_map", "profile_parallel_operation",
           "set_worker_count"]
