#include "libfdo/core/metrics.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>

#include "libfdo/core/error.h"

namespace fdo::metrics {
namespace {

constexpr std::array<double, 14> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,     10,  60};
constexpr std::array<double, 14> kLatencyBuckets = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1};

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon)) {
      return false;
    }
  }
  return true;
}

// The text format's label set: {a="x",b="y"}, or nothing when there are no labels.
std::string label_set(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) {
    return {};
  }
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    out += (out.size() > 1 ? "," : "") + name + "=\"" + escape_label_value(value) + "\"";
  }
  return out + "}";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // Integers up to 2^53 print exactly, without exponent (counters are read as such).
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  std::array<char, 64> buf{};
  // Plain decimals in the usual range ("0.0001", as other clients write bucket bounds), exponents outside it.
  const double magnitude = std::fabs(value);
  const auto [end, ec] = magnitude >= 1e-6 && magnitude < 1e15
                             ? std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::fixed)
                             : std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return ec == std::errc() ? std::string(buf.data(), end) : "NaN";
}

std::span<const double> duration_buckets() { return kDurationBuckets; }
std::span<const double> latency_buckets() { return kLatencyBuckets; }

Histogram::Histogram(std::span<const double> bounds) : m_bounds(bounds.begin(), bounds.end()) {
  if (m_bounds.empty()) {
    throw_internal("metrics: a histogram needs at least one bucket");
  }
  for (std::size_t i = 0; i < m_bounds.size(); ++i) {
    if (!std::isfinite(m_bounds[i]) || (i > 0 && m_bounds[i] <= m_bounds[i - 1])) {
      throw_internal("metrics: histogram buckets must be finite and strictly increasing");
    }
  }
  m_buckets = std::make_unique<std::atomic<std::uint64_t>[]>(m_bounds.size() + 1);
}

void Histogram::observe(double v) {
  // Prometheus buckets are "less than or equal": v lands in the first bucket whose bound is >= v.
  const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), v);
  m_buckets[static_cast<std::size_t>(it - m_bounds.begin())].fetch_add(1, std::memory_order_relaxed);
  m_sum.fetch_add(v, std::memory_order_relaxed);
  m_count.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(m_bounds.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = m_buckets[i].load(std::memory_order_relaxed);
  }
  return out;
}

template <typename T>
T& Family<T>::with(const std::vector<std::string>& values) {
  if (values.size() != m_label_names.size()) {
    throw_internal("metrics: " + m_name + " takes " + std::to_string(m_label_names.size()) + " label values, not " +
                   std::to_string(values.size()));
  }
  {
    const std::shared_lock lock(m_mutex);
    if (const auto it = m_series.find(values); it != m_series.end()) {
      return *it->second;
    }
  }
  const std::unique_lock lock(m_mutex);
  std::unique_ptr<T>& slot = m_series[values];
  if (!slot) {
    slot = m_make();
  }
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::string name;
  Kind kind = Kind::Counter;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  bool sampled = false;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  std::function<double()> sample;  // guarded by Registry::m_mutex
};

Registry::Registry(std::initializer_list<std::pair<std::string, std::string>> const_labels)
    : m_const_labels(const_labels) {
  for (const auto& [name, value] : m_const_labels) {
    if (!valid_name(name, false) || name.substr(0, 2) == "__") {
      throw_internal("metrics: bad label name '" + name + "'");
    }
  }
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::find_or_add(const std::string& name, Kind kind, const std::string& help,
                                       const std::vector<std::string>& label_names, std::span<const double> bounds,
                                       bool sampled) {
  if (!valid_name(name, true)) {
    throw_internal("metrics: bad metric name '" + name + "'");
  }
  for (const std::string& label : label_names) {
    const bool taken = std::any_of(m_const_labels.begin(), m_const_labels.end(),
                                   [&label](const auto& c) { return c.first == label; });
    if (!valid_name(label, false) || label.substr(0, 2) == "__" || (kind == Kind::Histogram && label == "le") ||
        taken) {
      throw_internal("metrics: bad label name '" + label + "' for " + name);
    }
  }
  for (const std::unique_ptr<Entry>& e : m_entries) {
    if (e->name != name) {
      continue;
    }
    if (e->kind != kind || e->label_names != label_names || e->sampled != sampled ||
        !std::equal(e->bounds.begin(), e->bounds.end(), bounds.begin(), bounds.end())) {
      throw_internal("metrics: " + name + " is already registered differently");
    }
    return *e;
  }
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->kind = kind;
  e->help = help;
  e->label_names = label_names;
  e->bounds.assign(bounds.begin(), bounds.end());
  e->sampled = sampled;
  if (!sampled) {
    switch (kind) {
      case Kind::Counter:
        e->counters = std::make_unique<Family<Counter>>(name, label_names, [] { return std::make_unique<Counter>(); });
        break;
      case Kind::Gauge:
        e->gauges = std::make_unique<Family<Gauge>>(name, label_names, [] { return std::make_unique<Gauge>(); });
        break;
      case Kind::Histogram: {
        const Histogram check(bounds);  // bad buckets fail at registration, not at first use
        std::vector<double> b(bounds.begin(), bounds.end());
        e->histograms =
            std::make_unique<Family<Histogram>>(name, label_names, [b] { return std::make_unique<Histogram>(b); });
        break;
      }
    }
  }
  m_entries.push_back(std::move(e));
  return *m_entries.back();
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names) {
  const std::lock_guard lock(m_mutex);
  return *find_or_add(name, Kind::Counter, help, label_names, {}, false).counters;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  const std::lock_guard lock(m_mutex);
  return *find_or_add(name, Kind::Gauge, help, label_names, {}, false).gauges;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                       std::span<const double> bounds) {
  const std::lock_guard lock(m_mutex);
  return *find_or_add(name, Kind::Histogram, help, label_names, bounds, false).histograms;
}

void Registry::sampled_gauge(std::string name, std::string help, std::function<double()> sample) {
  const std::lock_guard lock(m_mutex);
  find_or_add(name, Kind::Gauge, help, {}, {}, true).sample = std::move(sample);
}

void Registry::sampled_counter(std::string name, std::string help, std::function<double()> sample) {
  const std::lock_guard lock(m_mutex);
  find_or_add(name, Kind::Counter, help, {}, {}, true).sample = std::move(sample);
}

std::string Registry::expose() const {
  // Entries are never removed, so the pointers stay valid once the list is copied; samples run unlocked.
  std::vector<const Entry*> entries;
  std::vector<std::function<double()>> samples;
  {
    const std::lock_guard lock(m_mutex);
    for (const std::unique_ptr<Entry>& e : m_entries) {
      entries.push_back(e.get());
      samples.push_back(e->sample);
    }
  }
  std::string out;
  const auto labels_of = [this](const std::vector<std::string>& names, const std::vector<std::string>& values) {
    std::vector<std::pair<std::string, std::string>> labels = m_const_labels;
    for (std::size_t i = 0; i < names.size(); ++i) {
      labels.emplace_back(names[i], values[i]);
    }
    return labels;
  };
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = *entries[i];
    std::string body;
    if (e.sampled) {
      try {
        body = e.name + label_set(m_const_labels) + " " + format_value(samples[i] ? samples[i]() : 0) + "\n";
      } catch (const std::exception&) {
        continue;  // the scrape goes on without this gauge
      }
    } else if (e.kind == Kind::Counter) {
      e.counters->for_each([&](const std::vector<std::string>& values, const Counter& c) {
        body += e.name + label_set(labels_of(e.label_names, values)) + " " + std::to_string(c.value()) + "\n";
      });
    } else if (e.kind == Kind::Gauge) {
      e.gauges->for_each([&](const std::vector<std::string>& values, const Gauge& g) {
        body += e.name + label_set(labels_of(e.label_names, values)) + " " + format_value(g.value()) + "\n";
      });
    } else {
      e.histograms->for_each([&](const std::vector<std::string>& values, const Histogram& h) {
        const std::vector<std::uint64_t> counts = h.bucket_counts();
        std::vector<std::pair<std::string, std::string>> labels = labels_of(e.label_names, values);
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < counts.size(); ++b) {
          cumulative += counts[b];
          auto with_le = labels;
          with_le.emplace_back("le", b < h.bounds().size() ? format_value(h.bounds()[b]) : "+Inf");
          body += e.name + "_bucket" + label_set(with_le) + " " + std::to_string(cumulative) + "\n";
        }
        // _count is the +Inf bucket, so the two always agree even while observations come in.
        body += e.name + "_sum" + label_set(labels) + " " + format_value(h.sum()) + "\n";
        body += e.name + "_count" + label_set(labels) + " " + std::to_string(cumulative) + "\n";
      });
    }
    const std::string_view type = e.kind == Kind::Counter ? "counter" : e.kind == Kind::Gauge ? "gauge" : "histogram";
    out += "# HELP " + e.name + " " + escape_help(e.help) + "\n";
    out += "# TYPE " + e.name + " " + std::string(type) + "\n";
    out += body;
  }
  return out;
}

}  // namespace fdo::metrics
