// cxx_sync.cc — C++ std::mutex, std::condition_variable, std::timed_mutex, std::shared_mutex
// and std::recursive_mutex (which go through the interposed pthread calls) behave the same
// under the preload: a producer/consumer queue's sum, timeouts, and the exceptions on misuse.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <system_error>
#include <thread>
#include <vector>

int main()
{
    std::mutex m;
    std::condition_variable cv;
    std::queue<long> q;
    bool done = false;
    long sum = 0;
    std::thread consumer([&] {
        for (;;) {
            std::unique_lock<std::mutex> lk(m);
            cv.wait(lk, [&] { return !q.empty() || done; });
            if (q.empty())
                return;
            sum += q.front();
            q.pop();
        }
    });
    std::vector<std::thread> producers;
    for (int p = 0; p < 3; p++)
        producers.emplace_back([&, p] {
            for (long i = 1; i <= 20000; i++) {
                std::lock_guard<std::mutex> lk(m);
                q.push(i * (p + 1));
                cv.notify_one();
            }
        });
    for (auto &t : producers)
        t.join();
    {
        std::lock_guard<std::mutex> lk(m);
        done = true;
    }
    cv.notify_all();
    consumer.join();
    std::printf("queue sum %ld\n", sum);

    std::unique_lock<std::mutex> lk(m);
    auto r = cv.wait_for(lk, std::chrono::milliseconds(20));
    std::printf("wait_for: %s\n", r == std::cv_status::timeout ? "timeout" : "no_timeout");
    bool pred = cv.wait_until(lk, std::chrono::system_clock::now() + std::chrono::milliseconds(20),
                              [] { return false; });
    std::printf("wait_until system_clock: %d\n", pred);
    lk.unlock();

    std::timed_mutex tm;
    tm.lock();
    std::thread other([&] {
        std::printf("try_lock_for held: %d\n", tm.try_lock_for(std::chrono::milliseconds(20)));
        std::printf("try_lock_until held: %d\n",
                    tm.try_lock_until(std::chrono::system_clock::now() + std::chrono::milliseconds(20)));
    });
    other.join();
    tm.unlock();
    std::printf("try_lock_for free: %d\n", tm.try_lock_for(std::chrono::milliseconds(20)));
    tm.unlock();

    std::shared_mutex sm;
    sm.lock_shared();
    std::thread writer([&] {
        std::printf("shared: try_lock while read: %d\n", sm.try_lock());
        sm.lock(); // waits for the reader
        std::printf("shared: writer in\n");
        sm.unlock();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    sm.unlock_shared();
    writer.join();

    std::recursive_mutex rm;
    rm.lock();
    rm.lock();
    std::printf("recursive try_lock: %d\n", rm.try_lock());
    rm.unlock();
    rm.unlock();
    rm.unlock();

    // Locking a std::mutex twice from one thread is undefined; unlocking a unique_lock that
    // owns nothing throws.
    try {
        std::unique_lock<std::mutex> none(m, std::defer_lock);
        none.unlock();
    } catch (const std::system_error &e) {
        std::printf("unlock without owning: %s\n", e.code() == std::errc::operation_not_permitted ? "EPERM" : "other");
    }
    return 0;
}
