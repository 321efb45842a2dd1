#include "tests/k8s/store/watch_stream.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {
namespace {

namespace json = boost::json;

json::object csr(const std::string& name, const std::string& signer, const std::string& label = "") {
  json::object meta{{"name", name}};
  if (!label.empty()) meta["labels"] = json::object{{"tier", label}};
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", std::move(meta)},
          {"spec", json::object{{"signerName", signer}}}};
}

struct Event {
  std::string type;
  std::string name;
  std::string rv;
  json::object object;
};

std::vector<Event> parse(const std::vector<std::string>& lines) {
  std::vector<Event> out;
  for (const auto& l : lines) {
    EXPECT_EQ(l.back(), '\n');
    const json::object o = json::parse(l).as_object();
    const json::object obj = o.at("object").as_object();
    out.push_back({std::string(o.at("type").as_string()), name_of(obj),
                   string_at(obj, {"metadata", "resourceVersion"}), obj});
  }
  return out;
}

class WatchStreamTest : public ::testing::Test {
 protected:
  ObjectStore store{5};
  WatchSpec spec(std::uint64_t since, std::string field_selector = "") {
    WatchSpec s;
    s.type = &csr_type();
    s.since = since;
    s.fields = *FieldSelector::parse(field_selector, csr_type().field_labels);
    return s;
  }
  WatchStream watch(WatchSpec s) {
    return WatchStream(store, std::move(s), [] { return std::chrono::system_clock::from_time_t(0); });
  }
};

TEST_F(WatchStreamTest, EventsStrictlyAfterTheResourceVersion) {
  store.put("certificatesigningrequests", csr("a", "x.io/s"), EventType::added);
  const auto rv = store.resource_version();
  json::object b = csr("b", "x.io/s");
  store.put("certificatesigningrequests", b, EventType::added);
  b["status"] = json::object{{"certificate", "Zm9v"}};
  store.put("certificatesigningrequests", b, EventType::modified);
  store.remove("certificatesigningrequests", "", "a");

  auto w = watch(spec(rv));
  const auto events = parse(w.poll());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[0].name, "b");
  EXPECT_EQ(events[1].type, "MODIFIED");
  EXPECT_EQ(events[2].type, "DELETED");
  EXPECT_EQ(events[2].name, "a");
  // A deleted object carries the RV of its deletion; events carry kind and apiVersion.
  EXPECT_EQ(events[2].rv, std::to_string(store.resource_version()));
  EXPECT_EQ(events[0].object.at("kind").as_string(), "CertificateSigningRequest");
  EXPECT_TRUE(w.poll().empty());
  EXPECT_EQ(w.position(), store.resource_version());

  store.put("certificatesigningrequests", csr("c", "x.io/s"), EventType::added);
  const auto later = parse(w.poll());
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].name, "c");
}

TEST_F(WatchStreamTest, EmptyResourceVersionStartsWithTheCurrentState) {
  store.put("certificatesigningrequests", csr("a", "x.io/s"), EventType::added);
  store.put("certificatesigningrequests", csr("b", "y.io/s"), EventType::added);
  WatchSpec s = spec(0, "spec.signerName=x.io/s");
  s.initial_state = true;
  auto w = watch(std::move(s));
  const auto events = parse(w.poll());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[0].name, "a");
  EXPECT_TRUE(w.poll().empty());
}

TEST_F(WatchStreamTest, TooOldResourceVersionIsAn410ErrorEvent) {
  const auto rv = store.resource_version();
  store.put("certificatesigningrequests", csr("a", "x.io/s"), EventType::added);
  store.compact();
  auto w = watch(spec(rv));
  const auto lines = w.poll();
  ASSERT_EQ(lines.size(), 1u);
  const json::object e = json::parse(lines[0]).as_object();
  EXPECT_EQ(e.at("type").as_string(), "ERROR");
  EXPECT_EQ(e.at("object").at("kind").as_string(), "Status");
  EXPECT_EQ(e.at("object").at("code").as_int64(), 410);
  EXPECT_EQ(e.at("object").at("reason").as_string(), "Expired");
  EXPECT_TRUE(w.finished());
  EXPECT_TRUE(w.poll().empty());
  // From the current RV the same watch is fine.
  auto fresh = watch(spec(store.resource_version()));
  EXPECT_TRUE(fresh.poll().empty());
  EXPECT_FALSE(fresh.finished());
}

TEST_F(WatchStreamTest, HistoryLimitCompactsOldEvents) {
  const auto rv = store.resource_version();
  for (int i = 0; i < 6; ++i) {
    // Appended, not "c" + ...: GCC 12 at -O3 warns of an overlapping memcpy (PR105329).
    store.put("certificatesigningrequests", csr(std::string("c").append(std::to_string(i)), "x.io/s"),
              EventType::added);
  }
  auto w = watch(spec(rv));
  EXPECT_TRUE(parse(w.poll()).at(0).type == "ERROR");
  auto ok = watch(spec(store.compacted_rv("certificatesigningrequests")));
  EXPECT_EQ(parse(ok.poll()).size(), 5u);
}

TEST_F(WatchStreamTest, LiveWatchSurvivesCompactionAndUnrelatedWrites) {
  auto w = watch(spec(store.resource_version()));
  EXPECT_TRUE(w.poll().empty());
  for (int i = 0; i < 10; ++i)
    store.put("pods", json::object{{"metadata", json::object{{"name", "p"}, {"namespace", "n"}}}},
              EventType::added);
  EXPECT_TRUE(w.poll().empty());
  store.compact();
  store.put("certificatesigningrequests", csr("a", "x.io/s"), EventType::added);
  const auto events = parse(w.poll());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "ADDED");
}

TEST_F(WatchStreamTest, LabelChangesAreAddedOrDeletedForTheWatch) {
  WatchSpec s = spec(store.resource_version());
  s.labels = *LabelSelector::parse("tier=dist");
  auto w = watch(std::move(s));
  store.put("certificatesigningrequests", csr("a", "x.io/s"), EventType::added);
  store.put("certificatesigningrequests", csr("a", "x.io/s", "dist"), EventType::modified);
  store.put("certificatesigningrequests", csr("a", "x.io/s", "dist"), EventType::modified);
  store.put("certificatesigningrequests", csr("a", "x.io/s", "web"), EventType::modified);
  const auto events = parse(w.poll());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[1].type, "MODIFIED");
  EXPECT_EQ(events[2].type, "DELETED");
  EXPECT_EQ(labels_of(events[2].object).at("tier"), "dist");  // the last content it matched with
  EXPECT_EQ(events[2].rv, std::to_string(store.resource_version()));
}

TEST_F(WatchStreamTest, BookmarkCarriesThePosition) {
  store.put("certificatesigningrequests", csr("a", "x.io/s"), EventType::added);
  auto w = watch(spec(store.resource_version()));
  w.poll();
  const json::object b = json::parse(w.bookmark()).as_object();
  EXPECT_EQ(b.at("type").as_string(), "BOOKMARK");
  EXPECT_EQ(string_at(b.at("object").as_object(), {"metadata", "resourceVersion"}),
            std::to_string(store.resource_version()));
}

}  // namespace
}  // namespace distls::k8s_double
