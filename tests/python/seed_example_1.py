from pferris import Profiler, parallel_map
import time

def simulate_work(item):
    """Simulate some CPU-intensive work."""
    time.sleep(0.01)  # Simulate I/O
    return sum(i * i for i in range(item * 10))  # CPU work

# Create and start profiler
profiler = Profiler()
profiler.start()

# Profile data preparation
profiler.start_timer("data_preparation")
data = list(range(100))
profiler.stop_timer("data_preparation")

# Profile parallel processing
profiler.start_timer("parallel_processing")
results = parallel_map(simulate_work, data)
profiler.stop_timer("parallel_processing")

# Get comprehensive report
total_time = profiler.stop()
report = profiler.get_report()

print(f"Total execution time: {total_time:.2f}s")
print(f"Data preparation: {report['timings']['data_preparation']:.4f}s")
print(f"Parallel processing: {report['timings']['parallel_processing']:.2f}s")
