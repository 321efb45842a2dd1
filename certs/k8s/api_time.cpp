#include "distls/k8s/api_time.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace distls::k8s {

namespace {

std::tm utc(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  for (std::size_t i = at; i < at + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data() + at, s.data() + at + n, out);
  return true;
}

}  // namespace

std::string api_time(std::chrono::system_clock::time_point t) {
  const auto tm = utc(t);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string micro_time(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t - secs).count();
  const auto tm = utc(t);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(micros));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_api_time(std::string_view s) {
  std::tm tm{};
  // Set by digits() before any use; initialized because GCC 12 at -O3 cannot follow
  // that through the short-circuit chain (-Wmaybe-uninitialized).
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (s.size() < 20 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, mon) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, hour) || s[13] != ':' ||
      !digits(s, 14, 2, min) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return std::nullopt;
  std::size_t at = 19;
  std::chrono::microseconds fraction{0};
  if (at < s.size() && s[at] == '.') {
    std::size_t end = at + 1;
    long long us = 0;
    int scale = 6;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') {
      if (scale > 0) {
        us = us * 10 + (s[end] - '0');
        --scale;
      }
      ++end;
    }
    if (end == at + 1) return std::nullopt;
    while (scale-- > 0) us *= 10;
    fraction = std::chrono::microseconds(us);
    at = end;
  }
  int offset_min = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) {
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    int oh, om;
    if (!digits(s, at + 1, 2, oh) || !digits(s, at + 4, 2, om)) return std::nullopt;
    offset_min = (s[at] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const auto t = std::chrono::system_clock::from_time_t(timegm(&tm)) - std::chrono::minutes(offset_min);
  return t + fraction;
}

}  // namespace distls::k8s
