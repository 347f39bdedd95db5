import psutil
import os
from pferris import Profiler

class MemoryTracker:
    def __init__(self, profiler):
        self.profiler = profiler
        self.process = psutil.Process(os.getpid())
    
    def record_memory(self, label):
        memory_mb = self.process.memory_info().rss / 1024 / 1024
        self.profiler.record_memory(label, int(memory_mb))
        return memory_mb

# Example usage
profiler = Profiler()
tracker = MemoryTracker(profiler)

profiler.start()

# Track memory at different stages
tracker.record_memory("startup")

# Create large data structure
large_list = [i * i for i in range(1000000)]
tracker.record_memory("after_data_creation")

# Process data
results = [x * 2 for x in large_list if x % 2 == 0]
tracker.record_memory("after_processing")

# Clean up
del large_list
tracker.record_memory("after_cleanup")

# Get memory report
memory_usage = profiler.get_memory_usage()
print("Memory usage throughout execution:")
for stage, memory_mb in memory_usage.items():
    print(f"  {stage}: {memory_mb} MB")
