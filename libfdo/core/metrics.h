#pragma once
// A small metrics registry for the servers' GET /metrics (docs/operations.md "Metrics"): counters, gauges and
// fixed-bucket histograms with labels, written in the Prometheus text exposition format 0.0.4. Updating a metric
// is an atomic add after a shared-lock look-up of its label values; only the first use of a label set locks
// exclusively. No third-party library.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fdo::metrics {

/// The Content-Type of expose()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

/// A label value as the text format writes it between quotes: `\` → `\\`, `"` → `\"`, newline → `\n`.
std::string escape_label_value(std::string_view value);
/// A # HELP text: `\` → `\\`, newline → `\n`.
std::string escape_help(std::string_view help);
/// A sample value: integers without exponent ("42"), others in shortest round-trip form (plain decimals from 1e-6 to
/// 1e15: "0.0001"), "+Inf", "-Inf", "NaN".
std::string format_value(double value);

/// A value that only goes up.
class Counter {
 public:
  void inc(std::uint64_t n = 1) { m_value.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const { return m_value.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> m_value{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double v) { m_value.store(v, std::memory_order_relaxed); }
  void add(double v) { m_value.fetch_add(v, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return m_value.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> m_value{0};
};

/// Observations counted into fixed buckets (upper bounds, increasing; +Inf is implicit), with their sum.
class Histogram {
 public:
  /// Throws Error(InternalServerError) unless `bounds` is non-empty, finite and strictly increasing.
  explicit Histogram(std::span<const double> bounds);

  void observe(double v);

  /// Bucket upper bounds, without +Inf.
  [[nodiscard]] const std::vector<double>& bounds() const { return m_bounds; }
  /// Per-bucket counts (not cumulative), one more than bounds() (the last is above every bound).
  [[nodiscard]] std::vector<std::uint64_t> bucket_counts() const;
  [[nodiscard]] std::uint64_t count() const { return m_count.load(std::memory_order_relaxed); }
  [[nodiscard]] double sum() const { return m_sum.load(std::memory_order_relaxed); }

 private:
  std::vector<double> m_bounds;
  std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets;
  std::atomic<std::uint64_t> m_count{0};
  std::atomic<double> m_sum{0};
};

/// Default buckets for durations in seconds, from 1 ms to 60 s.
std::span<const double> duration_buckets();
/// Buckets for short latencies in seconds (a store commit), from 50 µs to 1 s.
std::span<const double> latency_buckets();

enum class Kind { Counter, Gauge, Histogram };

/// One metric name with its label names; each distinct set of label values is one series.
template <typename T>
class Family {
 public:
  /// Made by Registry; `make` makes a new series.
  Family(std::string name, std::vector<std::string> label_names, std::function<std::unique_ptr<T>()> make)
      : m_name(std::move(name)), m_label_names(std::move(label_names)), m_make(std::move(make)) {}

  /// The series of these label values (as many as the family's label names, in their order), made at first use.
  /// Throws Error(InternalServerError) for a wrong number of values.
  T& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }
  T& with(const std::vector<std::string>& values);

  [[nodiscard]] const std::string& name() const { return m_name; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return m_label_names; }
  /// Calls `f(values, series)` for each series in order of label values, under a shared lock.
  template <typename F>
  void for_each(F&& f) const {
    const std::shared_lock lock(m_mutex);
    for (const auto& [values, series] : m_series) {
      f(values, *series);
    }
  }

 private:
  std::string m_name;
  std::vector<std::string> m_label_names;
  std::function<std::unique_ptr<T>()> m_make;
  mutable std::shared_mutex m_mutex;
  std::map<std::vector<std::string>, std::unique_ptr<T>> m_series;
};

/// The metrics of one process, exposed in the Prometheus text format 0.0.4.
class Registry {
 public:
  /// `const_labels` are added to every series (the servers put {role="rendezvous"} there).
  Registry();
  explicit Registry(std::initializer_list<std::pair<std::string, std::string>> const_labels);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The family `name`, registered at first call; a later call with the same name returns it. Names match
  /// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (not starting "__", not "le" for a histogram);
  /// a bad name, or a second registration of a name with another kind, labels or buckets, throws
  /// Error(InternalServerError).
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                               std::span<const double> bounds);
  /// A gauge without labels whose value `sample()` gives at each scrape (e.g. a count read from the store). A
  /// sample that throws leaves the gauge out of that scrape. Registering the name again replaces the function.
  void sampled_gauge(std::string name, std::string help, std::function<double()> sample);
  /// The same for a counter kept elsewhere (e.g. the store's commits): `sample()` must never decrease.
  void sampled_counter(std::string name, std::string help, std::function<double()> sample);

  /// Every family in order of registration: # HELP, # TYPE, then its series; histograms as _bucket{le=…} (cumulative,
  /// ending with le="+Inf"), _sum and _count.
  [[nodiscard]] std::string expose() const;

 private:
  struct Entry;
  Entry& find_or_add(const std::string& name, Kind kind, const std::string& help,
                     const std::vector<std::string>& label_names, std::span<const double> bounds, bool sampled);

  std::vector<std::pair<std::string, std::string>> m_const_labels;
  mutable std::mutex m_mutex;
  std::vector<std::unique_ptr<Entry>> m_entries;
};

}  // namespace fdo::metrics
