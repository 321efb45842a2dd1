// Who made a request, as the authenticator found out (k8s.io/apiserver/pkg/authentication/user).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace distls::k8s_double {

struct UserInfo {
  std::string name;  // "system:serviceaccount:ns:sa", "admin", "signer"
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;

  bool in_group(const std::string& g) const {
    return std::find(groups.begin(), groups.end(), g) != groups.end();
  }
};

}  // namespace distls::k8s_double
