#include "tests/k8s/api/table_printer.hpp"

#include <cctype>
#include <ctime>
#include <optional>

#include <boost/json/array.hpp>

#include "tests/k8s/encoding/json_util.hpp"

namespace distls::k8s_double {

namespace json = boost::json;

std::string human_duration(std::chrono::seconds d) {
  const long long seconds = d.count();
  // Up to 2 s in the future counts as now: clocks of client and server differ a little.
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  const long long minutes = seconds / 60;
  if (minutes < 10) {
    const long long s = seconds % 60;
    return s == 0 ? std::to_string(minutes) + "m" : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const long long hours = minutes / 60;
  if (hours < 8) {
    const long long m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h" : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    const long long h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d"
                  : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const long long dy = (hours / 24) % 365;
    return dy == 0 ? std::to_string(hours / 24 / 365) + "y"
                   : std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::string csr_condition_summary(const json::object& csr) {
  bool approved = false, denied = false, failed = false;
  if (const auto* status = object_at(csr, {"status"})) {
    if (const auto it = status->find("conditions"); it != status->end() && it->value().is_array())
      for (const auto& c : it->value().get_array()) {
        if (!c.is_object()) continue;
        const auto type = string_at(c.get_object(), {"type"});
        approved = approved || type == "Approved";
        denied = denied || type == "Denied";
        failed = failed || type == "Failed";
      }
  }
  std::string s = denied ? "Denied" : approved ? "Approved" : "Pending";
  if (failed) s += ",Failed";
  if (!string_at(csr, {"status", "certificate"}).empty()) s += ",Issued";
  return s;
}

namespace {

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  if (text.size() < 20 || strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string age(const json::object& obj, std::chrono::system_clock::time_point now) {
  const auto created = parse_time(string_at(obj, {"metadata", "creationTimestamp"}));
  if (!created) return "<unknown>";
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *created));
}

json::object column(const char* name, const char* type, const char* format, const char* description,
                    int priority = 0) {
  return {{"name", name},
          {"type", type},
          {"format", format},
          {"description", description},
          {"priority", priority}};
}

json::array csr_columns() {
  return {
      column("Name", "string", "name", "Name must be unique within a namespace."),
      column("Age", "string", "",
             "CreationTimestamp is a timestamp representing the server time when this object was created."),
      column("SignerName", "string", "",
             "signerName indicates the requested signer, and is a qualified name."),
      column("Requestor", "string", "",
             "username contains the name of the user that created the CertificateSigningRequest."),
      column("RequestedDuration", "string", "",
             "expirationSeconds is the requested duration of validity of the issued certificate."),
      column("Condition", "string", "",
             "conditions applied to the request. Known conditions are \"Approved\", \"Denied\", and "
             "\"Failed\"."),
  };
}

json::array csr_cells(const json::object& csr, std::chrono::system_clock::time_point now) {
  std::string duration = "<none>";
  if (const auto* spec = object_at(csr, {"spec"}))
    if (const auto it = spec->find("expirationSeconds"); it != spec->end() && it->value().is_number())
      duration = human_duration(std::chrono::seconds(it->value().to_number<long long>()));
  return {json::value(name_of(csr)),
          json::value(age(csr, now)),
          json::value(string_at(csr, {"spec", "signerName"})),
          json::value(string_at(csr, {"spec", "username"})),
          json::value(duration),
          json::value(csr_condition_summary(csr))};
}

json::array pod_columns() {
  return {
      column("Name", "string", "name", "Name must be unique within a namespace."),
      column("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic."),
      column("Status", "string", "", "The aggregate status of the containers in this pod."),
      column("Restarts", "string", "", "The number of times the containers in this pod have been restarted."),
      column("Age", "string", "",
             "CreationTimestamp is a timestamp representing the server time when this object was created."),
      column("IP", "string", "", "podIP address allocated to the pod.", 1),
      column("Node", "string", "", "Name of the Node this pod is scheduled on.", 1),
      column("ServiceAccount", "string", "", "Name of the ServiceAccount to use to run this pod.", 1),
  };
}

json::array pod_cells(const json::object& pod, std::chrono::system_clock::time_point now) {
  const std::string phase = string_at(pod, {"status", "phase"});
  const std::string ip = string_at(pod, {"status", "podIP"});
  const std::string node = string_at(pod, {"spec", "nodeName"});
  // The double's pods have no containers; a running pod counts as one ready container.
  return {json::value(name_of(pod)),
          json::value(phase == "Running" ? "1/1" : "0/1"),
          json::value(phase.empty() ? "Unknown" : phase),
          json::value(0),
          json::value(age(pod, now)),
          json::value(ip.empty() ? "<none>" : ip),
          json::value(node.empty() ? "<none>" : node),
          json::value(string_at(pod, {"spec", "serviceAccountName"}))};
}

json::array lease_columns() {
  return {
      column("Name", "string", "name", "Name must be unique within a namespace."),
      column("Holder", "string", "",
             "holderIdentity contains the identity of the holder of a current lease."),
      column("Age", "string", "",
             "CreationTimestamp is a timestamp representing the server time when this object was created."),
  };
}

json::array lease_cells(const json::object& lease, std::chrono::system_clock::time_point now) {
  const std::string holder = string_at(lease, {"spec", "holderIdentity"});
  return {json::value(name_of(lease)), json::value(holder.empty() ? "<none>" : holder),
          json::value(age(lease, now))};
}

json::array statefulset_columns() {
  return {
      column("Name", "string", "name", "Name must be unique within a namespace."),
      column("Ready", "string", "", "Number of the pod with ready state"),
      column("Age", "string", "",
             "CreationTimestamp is a timestamp representing the server time when this object was created."),
  };
}

long long number_at(const json::object& o, const char* parent, const char* key) {
  const auto* p = object_at(o, {parent});
  const auto* v = p != nullptr ? p->if_contains(key) : nullptr;
  return v != nullptr && v->is_number() ? v->to_number<long long>() : 0;
}

json::array statefulset_cells(const json::object& sts, std::chrono::system_clock::time_point now) {
  return {json::value(name_of(sts)),
          json::value(std::to_string(number_at(sts, "status", "readyReplicas")) + "/" +
                      std::to_string(number_at(sts, "spec", "replicas"))),
          json::value(age(sts, now))};
}

// pkg/printers/internalversion printEvent: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.
json::array event_columns() {
  return {
      column("Last Seen", "string", "", "The last time the event was seen"),
      column("Type", "string", "", "Type of this event (Normal, Warning), new types could be added in the future."),
      column("Reason", "string", "", "reason is why the action was taken. It is human-readable."),
      column("Object", "string", "", "The object this Event is about."),
      column("Message", "string", "", "A human-readable description of the status of this operation."),
  };
}

json::array event_cells(const json::object& e, std::chrono::system_clock::time_point now) {
  std::string seen = "<unknown>";
  for (const char* f : {"lastTimestamp", "eventTime", "firstTimestamp"})
    if (const auto t = parse_time(string_at(e, {f}))) {
      seen = human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
      break;
    }
  std::string kind = string_at(e, {"involvedObject", "kind"});
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {json::value(seen), json::value(string_at(e, {"type"})), json::value(string_at(e, {"reason"})),
          json::value(kind + "/" + string_at(e, {"involvedObject", "name"})),
          json::value(string_at(e, {"message"}))};
}

json::array generic_columns() {
  return {
      column("Name", "string", "name", "Name must be unique within a namespace."),
      column("Age", "string", "",
             "CreationTimestamp is a timestamp representing the server time when this object was created."),
  };
}

json::array generic_cells(const json::object& obj, std::chrono::system_clock::time_point now) {
  return {json::value(name_of(obj)), json::value(age(obj, now))};
}

}  // namespace

json::object to_table(const ResourceType& type, const std::vector<const json::object*>& objects,
                      const std::string& list_rv, const TableOptions& opts) {
  using Cells = json::array (*)(const json::object&, std::chrono::system_clock::time_point);
  Cells cells = &generic_cells;
  json::array columns = generic_columns();
  if (&type == &csr_type()) {
    cells = &csr_cells;
    columns = csr_columns();
  } else if (&type == &lease_type()) {
    cells = &lease_cells;
    columns = lease_columns();
  } else if (&type == &pod_type()) {
    cells = &pod_cells;
    columns = pod_columns();
  } else if (&type == &statefulset_type()) {
    cells = &statefulset_cells;
    columns = statefulset_columns();
  } else if (&type == &event_type()) {
    cells = &event_cells;
    columns = event_columns();
  }
  json::array rows;
  for (const auto* obj : objects) {
    json::object row;
    row["cells"] = cells(*obj, opts.now);
    if (opts.include == IncludeObject::object) {
      json::object full = *obj;
      full["kind"] = type.kind;
      full["apiVersion"] = type.api_version;
      row["object"] = std::move(full);
    } else if (opts.include == IncludeObject::metadata) {
      json::object meta = object_at(*obj, {"metadata"}) ? *object_at(*obj, {"metadata"}) : json::object{};
      row["object"] = json::object{{"kind", "PartialObjectMetadata"},
                                   {"apiVersion", "meta.k8s.io/" + opts.version},
                                   {"metadata", std::move(meta)}};
    }
    rows.push_back(std::move(row));
  }
  json::object table;
  table["kind"] = "Table";
  table["apiVersion"] = "meta.k8s.io/" + opts.version;
  table["metadata"] = json::object{{"resourceVersion", list_rv}};
  table["columnDefinitions"] = std::move(columns);
  table["rows"] = std::move(rows);
  return table;
}

}  // namespace distls::k8s_double
