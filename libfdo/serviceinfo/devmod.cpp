#include "libfdo/serviceinfo/devmod.h"

#include <sys/utsname.h>

#include <cstdlib>
#include <map>
#include <string>
#include <utility>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/text.h"

namespace fdo::serviceinfo {
namespace {

constexpr std::string_view kModules = "modules";
constexpr std::size_t kTextFields = 13;
constexpr std::size_t kMaxFactFile = 64 * 1024;

// The text fields in devmod send order, with whether FDO 1.1 §3.8 marks them required.
struct TextField {
  std::string_view message;
  std::string DevmodInfo::*field;
  bool required;
};
constexpr TextField kTextFieldTable[kTextFields] = {
    {"os", &DevmodInfo::os, true},          {"arch", &DevmodInfo::arch, true},
    {"version", &DevmodInfo::version, true}, {"device", &DevmodInfo::device, true},
    {"sn", &DevmodInfo::sn, false},          {"pathsep", &DevmodInfo::pathsep, false},
    {"sep", &DevmodInfo::sep, true},         {"nl", &DevmodInfo::nl, false},
    {"tmp", &DevmodInfo::tmp, false},        {"dir", &DevmodInfo::dir, false},
    {"progenv", &DevmodInfo::progenv, false}, {"bin", &DevmodInfo::bin, true},
    {"mudurl", &DevmodInfo::mudurl, false},
};

std::size_t tstr_size(std::string_view s) { return encoded_head_size(s.size()) + s.size(); }

Bytes modules_chunk(std::size_t start, const std::vector<std::string>& names, std::size_t count) {
  cbor::Writer w;
  w.array(2 + count).uint(start).uint(count);
  for (std::size_t i = start; i < start + count; ++i) {
    w.tstr(names[i]);
  }
  return std::move(w).take();
}

// encoded_size() of a devmod:modules KV holding names[start, start + count) whose tstr encodings take name_bytes.
std::size_t chunk_kv_size(std::size_t start, std::size_t count, std::size_t name_bytes) {
  const std::size_t value =
      encoded_head_size(2 + count) + encoded_head_size(start) + encoded_head_size(count) + name_bytes;
  const std::size_t key = std::string_view("devmod:modules").size();
  return 1 + encoded_head_size(key) + key + encoded_head_size(value) + value;
}

// A serial number sent as bstr (go-fdo) is kept as text when it is printable UTF-8.
std::string serial_text(ByteView bytes) {
  bool printable = cbor::is_valid_utf8(bytes);
  for (const std::uint8_t b : bytes) {
    printable = printable && b >= 0x20 && b != 0x7f;
  }
  return printable ? to_string(bytes) : to_hex(bytes);
}

void merge_modules(DevmodInfo& info, ByteView value) {
  cbor::Reader r(value, "devmod:modules");
  const std::size_t items = r.read_array("");
  if (items < 2) {
    r.fail("", "expected [start, count, * name], got " + std::to_string(items) + " items");
  }
  const std::uint64_t start = r.read_uint("[0] start");
  const std::uint64_t count = r.read_uint("[1] count");
  if (start != info.modules.size()) {
    log::info("devmod:modules start " + std::to_string(start) + ", expected " + std::to_string(info.modules.size()) +
              "; names appended in arrival order");
  }
  if (count != items - 2) {
    log::info("devmod:modules count " + std::to_string(count) + " but " + std::to_string(items - 2) + " names");
  }
  for (std::size_t i = 2; i < items; ++i) {
    info.modules.push_back(r.read_tstr("[" + std::to_string(i) + "] name"));
  }
  r.expect_end();
}

// os-release(5): KEY=value lines, the value optionally in single or double quotes with backslash escapes.
std::map<std::string, std::string> parse_os_release(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = trim_blanks(text.substr(pos, end - pos));
    pos = end + 1;
    const std::size_t eq = line.find('=');
    if (line.empty() || line.front() == '#' || eq == std::string_view::npos) {
      continue;
    }
    std::string_view raw = line.substr(eq + 1);
    std::string value;
    if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') && raw.back() == raw.front()) {
      raw = raw.substr(1, raw.size() - 2);
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        ++i;
      }
      value += raw[i];
    }
    out[std::string(line.substr(0, eq))] = std::move(value);
  }
  return out;
}

std::string read_small_text(const char* path) {
  const FileRead read = read_file_checked(path, kMaxFactFile);
  return read.data ? to_string(*read.data) : std::string();
}

}  // namespace

Bytes DevmodInfo::encode() const {
  cbor::Writer w;
  w.array(kTextFields + 2);
  for (const TextField& f : kTextFieldTable) {
    w.tstr(this->*f.field);
  }
  w.uint(nummodules).array(modules.size());
  for (const std::string& m : modules) {
    w.tstr(m);
  }
  return std::move(w).take();
}

DevmodInfo DevmodInfo::decode(ByteView in) {
  cbor::Reader r(in, "DevmodInfo");
  r.read_array_of("", kTextFields + 2);
  DevmodInfo info;
  for (const TextField& f : kTextFieldTable) {
    info.*f.field = r.read_tstr(f.message);
  }
  info.nummodules = r.read_uint("nummodules");
  const std::size_t count = r.read_array("modules");
  for (std::size_t i = 0; i < count; ++i) {
    info.modules.push_back(r.read_tstr("modules[]"));
  }
  r.expect_end();
  return info;
}

ServiceInfo devmod_kvs(const DevmodInfo& info, std::size_t max_kv_size) {
  ServiceInfo kvs;
  kvs.push_back(make_kv(kDevmod, kActive, bool_value(true)));
  for (const TextField& f : kTextFieldTable) {
    const std::string& value = info.*f.field;
    if (f.required || !value.empty()) {
      kvs.push_back(make_kv(kDevmod, f.message, tstr_value(value)));
    }
  }
  kvs.push_back(make_kv(kDevmod, "nummodules", uint_value(info.modules.size())));
  // devmod:modules = [start, count, * name], as many chunks as needed (go-fdo builds them the same way).
  std::size_t start = 0;
  do {
    std::size_t count = 0;
    std::size_t name_bytes = 0;
    while (start + count < info.modules.size() &&
           chunk_kv_size(start, count + 1, name_bytes + tstr_size(info.modules[start + count])) <= max_kv_size) {
      name_bytes += tstr_size(info.modules[start + count]);
      ++count;
    }
    if (count == 0 && start < info.modules.size()) {
      throw_internal("devmod:modules: module name \"" + info.modules[start] + "\" does not fit a " +
                     std::to_string(max_kv_size) + "-byte KV");
    }
    kvs.push_back(make_kv(kDevmod, kModules, modules_chunk(start, info.modules, count)));
    start += count;
  } while (start < info.modules.size());
  return kvs;
}

void merge_devmod(DevmodInfo& info, std::string_view message, ByteView value) {
  const std::string key = make_key(kDevmod, message);
  if (message == kActive) {
    if (!read_bool_value(value, key)) {
      log::warn("devmod:active is false; devmod is always active (FDO 1.1 §3.8)");
    }
    return;
  }
  if (message == kModules) {
    merge_modules(info, value);
    return;
  }
  if (message == "nummodules") {
    info.nummodules = read_uint_value(value, key);
    return;
  }
  for (const TextField& f : kTextFieldTable) {
    if (message != f.message) {
      continue;
    }
    if (message == "sn" && cbor::Reader(value).peek_type() == cbor::MajorType::Bytes) {
      info.sn = serial_text(read_bstr_value(value, key));
    } else {
      info.*f.field = read_tstr_value(value, key);
    }
    return;
  }
  log::debug("devmod: ignored unknown message " + key);
}

std::vector<std::string> missing_required(const DevmodInfo& info) {
  std::vector<std::string> missing;
  for (const TextField& f : kTextFieldTable) {
    if (f.required && (info.*f.field).empty()) {
      missing.push_back(make_key(kDevmod, f.message));
    }
  }
  if (info.nummodules == 0) {
    missing.emplace_back("devmod:nummodules");
  }
  if (info.modules.empty()) {
    missing.emplace_back("devmod:modules");
  }
  return missing;
}

OsFacts read_os_facts() {
  OsFacts facts;
  utsname names{};
  if (uname(&names) == 0) {
    facts.sysname = names.sysname;
    facts.release = names.release;
    facts.machine = names.machine;
  }
  facts.os_release = read_small_text("/etc/os-release");
  if (facts.os_release.empty()) {
    facts.os_release = read_small_text("/usr/lib/os-release");
  }
  facts.product_name = std::string(trim_blanks(read_small_text("/sys/class/dmi/id/product_name")));
  const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read once, nothing sets it
  facts.tmp_dir = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  return facts;
}

DevmodInfo devmod_from_facts(const OsFacts& facts) {
  const std::map<std::string, std::string> os = parse_os_release(facts.os_release);
  const auto get = [&](const char* key) {
    const auto it = os.find(key);
    return it == os.end() ? std::string() : it->second;
  };
  DevmodInfo info;
  info.os = facts.sysname.empty() ? "unknown" : facts.sysname;
  info.arch = facts.machine.empty() ? "unknown" : facts.machine;
  if (!get("NAME").empty() && !get("VERSION_ID").empty()) {
    info.version = get("NAME") + " " + get("VERSION_ID");
  } else if (!get("PRETTY_NAME").empty()) {
    info.version = get("PRETTY_NAME");
  } else {
    info.version = facts.release.empty() ? "unknown" : facts.release;
  }
  info.device = facts.product_name.empty() ? "unknown" : facts.product_name;
  info.pathsep = "/";
  info.sep = ":";
  info.nl = "\n";
  info.tmp = facts.tmp_dir;
  info.dir = "/var/lib/fdo";
  info.progenv = "bin:sh";
  info.bin = info.arch;
  return info;
}

DevmodInfo devmod_from_os() { return devmod_from_facts(read_os_facts()); }

}  // namespace fdo::serviceinfo
