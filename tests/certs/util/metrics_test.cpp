#include "distls/util/metrics.hpp"

#include <gtest/gtest.h>

namespace distls {
namespace {

TEST(Metrics, LabelValuesAreEscapedByTheLayer) {
  Metrics m;
  // A reason that came from elsewhere (an API server's Status, a peer) may hold anything.
  m.counter("distls_x_total", {{"reason", "a \"quoted\" \\ back\nslash"}})++;
  m.counter("distls_x_total", {{"reason", "plain"}, {"direction", "in"}}) += 2;
  m.help("distls_x_total", "a test counter");
  const auto text = m.render();
  EXPECT_NE(text.find("distls_x_total{reason=\"a \\\"quoted\\\" \\\\ back\\nslash\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("distls_x_total{reason=\"plain\",direction=\"in\"} 2\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << "one line per sample, HELP and TYPE";
  EXPECT_EQ(m.value("distls_x_total", {{"reason", "plain"}, {"direction", "in"}}), 2u);
  EXPECT_EQ(m.value("distls_x_total", {{"reason", "a \"quoted\" \\ back\nslash"}}), 1u);
}

TEST(Metrics, GaugesAreTypedAsGauges) {
  Metrics m;
  m.gauge("distls_g") = -3;
  EXPECT_NE(m.render().find("# TYPE distls_g gauge\ndistls_g -3\n"), std::string::npos) << m.render();
}

}  // namespace
}  // namespace distls
