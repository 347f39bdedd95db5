from pferris import Profiler, parallel_map, parallel_filter
import time

def compare_parallel_operations():
    """Compare different parallel operations."""
    
    # Test data
    data = list(range(10000))
    
    # Different operations to compare
    operations = {
        'map_square': lambda d: list(parallel_map(lambda x: x * x, d)),
        'map_cube': lambda d: list(parallel_map(lambda x: x * x * x, d)),
        'filter_even': lambda d: list(parallel_filter(lambda x: x % 2 == 0, d)),
        'filter_prime': lambda d: list(parallel_filter(is_prime, d)),
    }
    
    results = {}
    
    for name, operation in operations.items():
        profiler = Profiler()
        
        # Profile the operation
        start_time = time.time()
        profiler.start()
        
        result = operation(data)
        
        elapsed = profiler.stop()
        total_time = time.time() - start_time
        
        results[name] = {
            'profiled_time': elapsed,
            'wall_time': total_time,
            'result_count': len(result),
            'throughput': len(data) / total_time
        }
        
        print(f"{name}:")
        print(f"  Time: {elapsed:.3f}s")
        print(f"  Throughput: {results[name]['throughput']:.0f} items/sec")
        print(f"  Results: {len(result)} items")
    
    return results

def is_prime(n):
    """Simple prime check for testing."""
    if n < 2:
        return False
    for i in range(2, int(n ** 0.5) + 1):
        if n % i == 0:
            return False
    return True

# Run comparison
comparison_results = compare_parallel_operations()
