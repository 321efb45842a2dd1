#include "tests/k8s/encoding/go_time.hpp"

#include <vector>

#include "tests/k8s/http/api_error.hpp"

namespace distls::k8s_double {

namespace {

bool digit_at(std::string_view s, std::size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

// time.getnum: one or two digits, exactly two when fixed.
bool getnum(std::string_view& s, bool fixed, int& out) {
  if (!digit_at(s, 0)) return false;
  if (!digit_at(s, 1)) {
    if (fixed) return false;
    out = s[0] - '0';
    s.remove_prefix(1);
    return true;
  }
  out = (s[0] - '0') * 10 + (s[1] - '0');
  s.remove_prefix(2);
  return true;
}

int days_in(int month, int year) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : days[month - 1];
}

// The layout's chunks as time.nextStdChunk splits them: a literal prefix, then a std element.
struct Chunk {
  std::string_view prefix;
  std::string_view std;  // "" after the last one
};

std::vector<Chunk> chunks(std::string_view layout) {
  if (layout == kRfc3339Micro)
    return {{"", "2006"}, {"-", "01"}, {"-", "02"}, {"T", "15"},     {":", "04"},
            {":", "05"},  {"", ".000000"}, {"", "Z07:00"}, {"", ""}};
  return {{"", "2006"}, {"-", "01"}, {"-", "02"}, {"T", "15"}, {":", "04"}, {":", "05"}, {"", "Z07:00"}, {"", ""}};
}

}  // namespace

std::optional<std::string> go_time_parse_error(std::string_view layout, std::string_view value) {
  const std::string whole = go_quote(value);
  const auto cannot = [&](std::string_view elem_value, std::string_view elem) {
    return "parsing time " + whole + " as " + go_quote(layout) + ": cannot parse " + go_quote(elem_value) +
           " as " + go_quote(elem);
  };
  const auto range = [&](const char* what) { return "parsing time " + whole + ": " + what + " out of range"; };
  const bool micro_layout = layout == kRfc3339Micro;

  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string_view v = value;
  for (const Chunk& c : chunks(layout)) {
    for (char p : c.prefix) {
      if (v.empty() || v.front() != p) return cannot(v, c.prefix);
      v.remove_prefix(1);
    }
    if (c.std.empty()) {
      if (!v.empty()) return "parsing time " + whole + ": extra text: " + go_quote(v);
      break;
    }
    const std::string_view hold = v;
    bool ok = true;
    const char* range_err = nullptr;
    if (c.std == "2006") {
      ok = v.size() >= 4 && digit_at(v, 0) && digit_at(v, 1) && digit_at(v, 2) && digit_at(v, 3);
      if (ok) {
        year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
        v.remove_prefix(4);
      }
    } else if (c.std == "01") {
      ok = getnum(v, true, month);
      if (ok && (month <= 0 || month > 12)) range_err = "month";
    } else if (c.std == "02") {
      ok = getnum(v, true, day);  // checked against the month once everything is read
    } else if (c.std == "15") {
      ok = getnum(v, false, hour);
      if (ok && hour >= 24) range_err = "hour";
    } else if (c.std == "04") {
      ok = getnum(v, true, minute);
      if (ok && minute >= 60) range_err = "minute";
    } else if (c.std == "05") {
      ok = getnum(v, true, second);
      if (ok && second >= 60) range_err = "second";
      // A fraction the layout does not name is accepted, any number of digits.
      if (ok && !range_err && !micro_layout && v.size() >= 2 && (v[0] == '.' || v[0] == ',') && digit_at(v, 1)) {
        std::size_t n = 2;
        while (digit_at(v, n)) ++n;
        v.remove_prefix(n);
      }
    } else if (c.std == ".000000") {
      // stdFracSecond0: exactly as many digits as the layout has.
      ok = v.size() >= 7 && (v[0] == '.' || v[0] == ',');
      for (std::size_t i = 1; ok && i < 7; ++i) ok = digit_at(v, i);
      if (ok) v.remove_prefix(7);
    } else {  // Z07:00
      if (!v.empty() && v.front() == 'Z') {
        v.remove_prefix(1);
      } else if (v.size() < 6 || v[3] != ':') {
        ok = false;
      } else {
        std::string_view hh = v.substr(1, 2), mm = v.substr(4, 2);
        int h = 0, m = 0;
        ok = getnum(hh, true, h) && getnum(mm, true, m) && (v[0] == '+' || v[0] == '-');
        if (ok && h > 24) range_err = "time zone offset hour";
        if (ok && m > 60) range_err = "time zone offset minute";
        v.remove_prefix(6);
      }
    }
    if (range_err) return range(range_err);
    if (!ok) return cannot(hold, c.std);
  }
  if (day < 1 || day > days_in(month, year)) return range("day");
  return std::nullopt;
}

}  // namespace distls::k8s_double
