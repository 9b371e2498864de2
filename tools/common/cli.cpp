#include "tools/common/cli.h"

#include <csignal>

#include <algorithm>
#include <cstddef>

#include "libfdo/core/guid_text.h"
#include "libfdo/transport/forwarded.h"
#include "tools/common/log_format.h"

namespace fdo::tool {
namespace {

// The apps from the main app down to the deepest subcommand on the command line.
std::vector<const CLI::App*> parsed_chain(const CLI::App& app) {
  std::vector<const CLI::App*> chain = {&app};
  for (;;) {
    const std::vector<CLI::App*> subs = chain.back()->get_subcommands();
    if (subs.empty()) {
      return chain;
    }
    chain.push_back(subs.front());
  }
}

// "fdo-manufacturer vouchers export".
std::string command_name(const std::vector<const CLI::App*>& chain) {
  std::string out;
  for (const CLI::App* app : chain) {
    out += (out.empty() ? "" : " ") + app->get_name();
  }
  return out;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  return names;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    out += (out.empty() ? "" : ", ") + w;
  }
  return out;
}

// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// "unknown option --jsn; did you mean --json?" for the first word nothing on the command line took.
std::optional<std::string> explain_extra(const std::vector<const CLI::App*>& chain) {
  std::optional<std::string> extra;
  for (auto it = chain.rbegin(); it != chain.rend() && !extra; ++it) {
    const std::vector<std::string> left = (*it)->remaining(false);
    if (!left.empty()) {
      extra = left.front();
    }
  }
  if (!extra) {
    return std::nullopt;
  }
  const CLI::App& deepest = *chain.back();
  if (extra->size() > 1 && extra->front() == '-') {
    const std::string word = extra->substr(0, extra->find('='));
    std::vector<std::string> options;
    for (const CLI::App* app : chain) {
      for (const CLI::Option* option : app->get_options()) {
        for (const std::string& name : option->get_lnames()) {
          options.push_back("--" + name);
        }
        for (const std::string& name : option->get_snames()) {
          options.push_back("-" + name);
        }
      }
    }
    const std::optional<std::string> near = nearest(word, options);
    return "unknown option " + word + (near ? "; did you mean " + *near + "?" : " (see --help)");
  }
  const std::vector<std::string> subcommands = subcommand_names(deepest);
  if (subcommands.empty()) {
    return "unexpected argument '" + *extra + "' (see --help)";
  }
  const std::optional<std::string> near = nearest(*extra, subcommands);
  return "unknown subcommand '" + *extra + "'" +
         (near ? "; did you mean '" + *near + "'?" : " (subcommands: " + join(subcommands) + ")");
}

}  // namespace

std::string_view version() {
  return FDO_VERSION;
}

std::string_view error_kind(ErrorSource source) {
  switch (source) {
    case ErrorSource::Peer:
      return "peer";
    case ErrorSource::Transport:
      return "transport";
    case ErrorSource::Local:
      break;
  }
  return "refused";
}

void setup_app(CLI::App& app, const std::string& name) {
  // A peer that closes a TLS connection mid-write (a refused client certificate) must be an error, not a signal:
  // OpenSSL writes to the socket without MSG_NOSIGNAL.
  ::signal(SIGPIPE, SIG_IGN);
  app.name(name);
  app.set_version_flag("--version", name + " " + std::string(version()), "Print the version and exit");
}

std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (!best || d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  // A likely typo: a few edits, and fewer than the word has letters.
  if (!best || best_distance == 0 || best_distance > std::max<std::size_t>(2, word.size() / 3) ||
      best_distance >= word.size()) {
    return std::nullopt;
  }
  return best;
}

CLI::Validator guid_validator() {
  return CLI::Validator(
      [](const std::string& text) {
        try {
          static_cast<void>(parse_guid(text));
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      },
      "GUID");
}

std::string describe_exception(const std::exception& e) {
  std::string text;
  if (const auto* fs = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    text = (fs->path1().empty() ? std::string() : fs->path1().string() + ": ") + fs->code().message();
  } else if (dynamic_cast<const std::ios_base::failure*>(&e) != nullptr) {
    text = std::string("I/O error: ") + e.what();
  } else {
    text = e.what();
  }
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

int parse_error_status(CLI::App& app, const CLI::ParseError& e) {
  // By type, not get_name(): CLI11 names some errors after the app that raised them.
  if (dynamic_cast<const CLI::CallForHelp*>(&e) != nullptr || dynamic_cast<const CLI::CallForAllHelp*>(&e) != nullptr ||
      dynamic_cast<const CLI::CallForVersion*>(&e) != nullptr) {
    return app.exit(e) == 0 ? 0 : kUsageError;
  }
  const std::vector<const CLI::App*> chain = parsed_chain(app);
  const std::string where = command_name(chain);
  const CLI::App& deepest = *chain.back();
  const bool required = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
  const bool missing_subcommand = required && deepest.get_subcommands().empty() && !subcommand_names(deepest).empty();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr || required) {
    // A mistyped name is left over as a word, and CLI11 first says what it then misses ("--dir is required").
    if (const std::optional<std::string> line = explain_extra(chain)) {
      std::cerr << where << ": " << *line << "\n";
      return kUsageError;
    }
  }
  if (missing_subcommand) {
    std::cerr << where << ": a subcommand is required: " << join(subcommand_names(deepest)) << "\n\n" << deepest.help();
    return kUsageError;
  }
  if (dynamic_cast<const CLI::FileError*>(&e) != nullptr) {
    // CLI11 says "FILE was not readable (missing?)": a config file that cannot be read is a missing input file.
    std::cerr << where << ": config " << e.what() << "\n";
    return kFailure;
  }
  std::cerr << where << ": " << e.what() << "\n";
  return kUsageError;
}

std::optional<int> parse(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_error_status(app, e);
  }
  return std::nullopt;
}

CLI::Option* add_log_level(CLI::App& cmd, std::string& level) {
  // docs/operations.md "Logs": the format is process-wide, so it is installed as soon as it is parsed.
  cmd.add_option_function<std::string>(
         "--log-format", [](const std::string& format) { use_log_format(format); },
         "text|json: one line per event, or one JSON object per line (logs go to stderr)")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
  return cmd.add_option("--log-level", level,
                        "error|warn|info|debug|trace (logs go to stderr; debug adds a line per HTTP request)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
}

CLI::Option* add_trusted_proxy(CLI::App& cmd, std::vector<std::string>& proxies) {
  return cmd
      .add_option("--trusted-proxy", proxies,
                  "A reverse proxy (IP address, repeatable) whose X-Forwarded-For gives the client address that "
                  "per-address limits and logs use")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return transport::is_ip_address(v) ? std::string() : "not an IP address (no port, no mask): " + v;
          },
          "IP"));
}

}  // namespace fdo::tool
