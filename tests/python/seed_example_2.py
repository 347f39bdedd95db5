from pferris import auto_tune_workers, set_worker_count, parallel_map

def cpu_intensive_task(n):
    """CPU-intensive task for benchmarking."""
    return sum(i * i for i in range(n * 100))

# Generate sample data for tuning
sample_data = list(range(50, 150))

# Auto-tune worker count
print("Auto-tuning worker count...")
tuning_result = auto_tune_workers(
    cpu_intensive_task,
    sample_data,
    min_workers=1,
    max_workers=8,
    test_duration=2.0
)

print(f"Optimal workers: {tuning_result['optimal_workers']}")
print(f"Best throughput: {tuning_result['best_throughput']:.2f} items/sec")
print(f"Tested configurations: {tuning_result['tested_workers']}")

# Apply the optimized setting
set_worker_count(tuning_result['optimal_workers'])

# Run with optimized settings
large_dataset = list(range(1000))
results = parallel_map(cpu_intensive_task, large_dataset)
print(f"Processed {len(list(results))} items with {tuning_result['optimal_workers']} workers")
