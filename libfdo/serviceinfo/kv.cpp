#include "libfdo/serviceinfo/kv.h"

#include <algorithm>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/log.h"

namespace fdo::serviceinfo {
namespace {

// A join of go-fdo fragments stops after this many KVs or bytes; the rest stays as received.
constexpr std::size_t kMaxJoinedKvs = 256;
constexpr std::size_t kMaxJoinedBytes = 64 * 1024;

// Reader over one value, named by its key, that must hold exactly one item.
template <typename Fn>
auto read_value(ByteView value, std::string_view key, Fn&& fn) {
  cbor::Reader r(value, key);
  auto result = fn(r);
  r.expect_end();
  return result;
}

}  // namespace

void encode_service_info(cbor::Writer& out, const ServiceInfo& kvs) {
  out.array(kvs.size());
  for (const ServiceInfoKv& kv : kvs) {
    out.array(2).tstr(kv.key).bstr(kv.value);
  }
}

Bytes encode_service_info(const ServiceInfo& kvs) {
  cbor::Writer w;
  encode_service_info(w, kvs);
  return std::move(w).take();
}

ServiceInfo decode_service_info(cbor::Reader& in) {
  const std::size_t count = in.read_array("ServiceInfo");
  if (count == 1 && in.peek_type() == cbor::MajorType::Array) {
    cbor::Reader probe = in;
    if (probe.read_array("ServiceInfo[0]") == 0) {
      // FDO 1.1 §3.8 has no empty KV; an old C SDK sent [[]] for "nothing" (docs/service-info.md "Interop").
      log::warn("ServiceInfo [[]] (an empty KV) read as the empty list");
      in = probe;
      return {};
    }
  }
  ServiceInfo kvs;
  kvs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string field = "ServiceInfo[" + std::to_string(i) + "]";
    in.read_array_of(field, 2);
    ServiceInfoKv kv;
    kv.key = in.read_tstr(field + " ServiceInfoKey");
    if (kv.key.find(':') == std::string::npos) {
      in.fail(field + " ServiceInfoKey", "expected \"module:message\", got \"" + kv.key + "\" without a colon");
    }
    kv.value = in.read_bstr(field + " ServiceInfoVal");
    kvs.push_back(std::move(kv));
  }
  return kvs;
}

std::size_t encoded_head_size(std::uint64_t argument) {
  if (argument < 24) {
    return 1;
  }
  if (argument <= 0xff) {
    return 2;
  }
  if (argument <= 0xffff) {
    return 3;
  }
  if (argument <= 0xffffffffULL) {
    return 5;
  }
  return 9;
}

std::size_t encoded_size(const ServiceInfoKv& kv) {
  return 1 + encoded_head_size(kv.key.size()) + kv.key.size() + encoded_head_size(kv.value.size()) + kv.value.size();
}

std::size_t encoded_size(const ServiceInfo& kvs) {
  std::size_t size = encoded_head_size(kvs.size());
  for (const ServiceInfoKv& kv : kvs) {
    size += encoded_size(kv);
  }
  return size;
}

std::pair<std::string_view, std::string_view> split_key(std::string_view key) {
  const std::size_t colon = key.find(':');
  if (colon == std::string_view::npos) {
    throw_body_error("ServiceInfoKey: expected \"module:message\", got \"" + std::string(key) + "\" without a colon");
  }
  return {key.substr(0, colon), key.substr(colon + 1)};
}

std::string make_key(std::string_view module, std::string_view message) {
  std::string key;
  key.reserve(module.size() + 1 + message.size());
  key.append(module).append(":").append(message);
  return key;
}

ServiceInfoKv make_kv(std::string_view module, std::string_view message, ByteView cbor_value) {
  return ServiceInfoKv{.key = make_key(module, message), .value = Bytes(cbor_value.begin(), cbor_value.end())};
}

bool is_complete_value(ByteView value) { return cbor::is_single_item(value); }

namespace {

// join_fragments() and take_complete(): when `tail` is given, a run of fragments that reaches the end of `kvs`
// without completing is kept there, joined, for the next message (a value cut across several messages).
ServiceInfo join_runs(ServiceInfo kvs, std::optional<ServiceInfoKv>* tail) {
  ServiceInfo out;
  out.reserve(kvs.size());
  std::size_t i = 0;
  while (i < kvs.size()) {
    if (is_complete_value(kvs[i].value)) {
      out.push_back(std::move(kvs[i]));
      ++i;
      continue;
    }
    // Append following same-key values until the bytes form one item.
    Bytes joined = kvs[i].value;
    std::size_t end = i + 1;
    bool complete = false;
    bool capped = false;
    while (end < kvs.size() && kvs[end].key == kvs[i].key) {
      if (end - i >= kMaxJoinedKvs || joined.size() + kvs[end].value.size() > kMaxJoinedBytes) {
        capped = true;
        break;
      }
      append(joined, kvs[end].value);
      ++end;
      if (is_complete_value(joined)) {
        complete = true;
        break;
      }
    }
    if (!complete && tail != nullptr && end == kvs.size() && !capped) {
      *tail = ServiceInfoKv{.key = std::move(kvs[i].key), .value = std::move(joined)};
      return out;
    }
    if (!complete) {
      out.push_back(std::move(kvs[i]));
      ++i;
      continue;
    }
    log::info("ServiceInfo " + kvs[i].key + ": joined " + std::to_string(end - i) +
              " fragments into one value (split value)");
    out.push_back(ServiceInfoKv{.key = std::move(kvs[i].key), .value = std::move(joined)});
    i = end;
  }
  return out;
}

}  // namespace

ServiceInfo join_fragments(ServiceInfo kvs) {
  return join_runs(std::move(kvs), nullptr);
}

ServiceInfo split_value(std::string_view module, std::string_view message, ByteView value, std::size_t kv_budget) {
  ServiceInfo out;
  ServiceInfoKv whole = make_kv(module, message, value);
  if (encoded_size(whole) <= kv_budget) {
    out.push_back(std::move(whole));
    return out;
  }
  // A fragment KV is [key, bstr(n)]: the array head, the key and the bstr head around n bytes of the value.
  const std::size_t fixed = 1 + encoded_head_size(whole.key.size()) + whole.key.size();
  if (kv_budget < fixed + 2) {
    throw_internal("ServiceInfo " + whole.key + ": a budget of " + std::to_string(kv_budget) +
                   " bytes leaves no room for a fragment");
  }
  std::size_t n = kv_budget - fixed - 1;
  while (n > 0 && fixed + encoded_head_size(n) + n > kv_budget) {
    --n;
  }
  for (std::size_t offset = 0; offset < value.size(); offset += n) {
    out.push_back(make_kv(module, message, value.subspan(offset, std::min(n, value.size() - offset))));
  }
  return out;
}

Bytes bool_value(bool v) {
  cbor::Writer w;
  w.boolean(v);
  return std::move(w).take();
}

Bytes uint_value(std::uint64_t v) { return cbor::encode_uint(v); }

Bytes int_value(std::int64_t v) { return cbor::encode_int(v); }

Bytes tstr_value(std::string_view v) { return cbor::encode_tstr(v); }

Bytes bstr_value(ByteView v) { return cbor::encode_bstr(v); }

bool read_bool_value(ByteView value, std::string_view key) {
  return read_value(value, key, [](cbor::Reader& r) { return r.read_bool("value"); });
}

std::uint64_t read_uint_value(ByteView value, std::string_view key) {
  return read_value(value, key, [](cbor::Reader& r) { return r.read_uint("value"); });
}

std::int64_t read_int_value(ByteView value, std::string_view key) {
  return read_value(value, key, [](cbor::Reader& r) { return r.read_int("value"); });
}

std::string read_tstr_value(ByteView value, std::string_view key) {
  return read_value(value, key, [](cbor::Reader& r) { return r.read_tstr("value"); });
}

Bytes read_bstr_value(ByteView value, std::string_view key) {
  return read_value(value, key, [](cbor::Reader& r) { return r.read_bstr("value"); });
}

ServiceInfo take_complete(std::optional<ServiceInfoKv>& fragment, const ServiceInfo& kvs, bool is_more) {
  ServiceInfo in;
  if (fragment) {
    in.push_back(std::move(*fragment));
    fragment.reset();
  }
  in.insert(in.end(), kvs.begin(), kvs.end());
  return join_runs(std::move(in), is_more ? &fragment : nullptr);
}

}  // namespace fdo::serviceinfo
