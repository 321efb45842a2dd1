#include "distls/util/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace distls {

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return std::nullopt;
}

namespace {

// Quotes and escapes `value` for a text log line (\xNN) or a JSON string (\uNNNN).
std::string quoted(std::string_view value, bool json) {
  std::string q = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (u < 0x20 || u >= 0x7f) {  // peer-supplied bytes: never raw, never invalid UTF-8
      char hex[8];
      std::snprintf(hex, sizeof hex, json ? "\\u%04x" : "\\x%02x", u);
      q += hex;
    } else {
      q += c;
    }
  }
  q += '"';
  return q;
}

}  // namespace

std::string log_quote(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '=' || c == '\\') plain = false;
  }
  return plain ? std::string(value) : quoted(value, false);
}

std::string json_quote(std::string_view value) { return quoted(value, true); }

void Logger::log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  static constexpr const char* names[] = {"debug", "info", "warn", "error"};
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  std::string line;
  line.reserve(128);
  if (format_ == Format::json) {
    line += "{\"ts\":\"";
    line += stamp;
    line += "\",\"level\":\"";
    line += names[static_cast<int>(level)];
    line += "\",\"event\":" + json_quote(event);
    for (const auto& f : fields) {
      line += ',';
      line += json_quote(f.key);
      line += ':';
      line += json_quote(f.value);
    }
    line += "}\n";
  } else {
    line += stamp;
    line += ' ';
    line += names[static_cast<int>(level)];
    line += ' ';
    line += event;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      line += log_quote(f.value);
    }
    line += '\n';
  }
  std::lock_guard lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace distls
