#include "distls/x509/ossl.hpp"

#include <openssl/err.h>

namespace distls::ossl {

std::string drain_errors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (!out.empty()) out += "; ";
    const char* lib = ERR_lib_error_string(e);
    const char* reason = ERR_reason_error_string(e);
    if (lib != nullptr) {
      out += lib;
      out += ": ";
    }
    // Providers can raise reason codes without registered strings; keep the number then.
    out += reason != nullptr ? std::string(reason) : "reason " + std::to_string(ERR_GET_REASON(e));
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  return out;
}

void fail(const std::string& what) {
  std::string reason = drain_errors();
  if (reason.empty()) reason = "no OpenSSL error reported";
  throw Error(what + ": " + reason);
}

}  // namespace distls::ossl
