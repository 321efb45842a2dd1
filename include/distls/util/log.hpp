// Structured logging: one line per event, `time level event key=value ...`, to stderr.
// Owned by main and handed to whoever logs; no global logger.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <type_traits>
#include <ostream>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace distls {

enum class LogLevel { debug, info, warn, error };

std::optional<LogLevel> parse_log_level(std::string_view);

struct LogField {
  std::string_view key;
  std::string value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const boost::system::error_code& ec) : key(k), value(ec.message()) {}
  template <class T>
    requires std::is_arithmetic_v<T>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
};

class Logger {
 public:
  enum class Format { text, json };
  Logger(std::ostream& out, LogLevel min, Format format = Format::text) : out_(out), min_(min), format_(format) {}

  bool enabled(LogLevel l) const { return l >= min_; }
  void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

  void debug(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::debug, e, f); }
  void info(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::info, e, f); }
  void warn(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::warn, e, f); }
  void error(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::error, e, f); }

 private:
  std::ostream& out_;
  LogLevel min_;
  Format format_;
  std::mutex mutex_;  // the signer and tests may log from more than one thread
};

// A JSON string literal, quotes included.
std::string json_quote(std::string_view value);

// Quotes a value when it holds spaces, quotes, '=' or control bytes, so lines stay parseable.
std::string log_quote(std::string_view value);

}  // namespace distls
