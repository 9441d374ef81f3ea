#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "zkelect/common/status.h"
#include "zkelect/config/config.h"

namespace CLI {
class App;
}  // namespace CLI

namespace zkelect {

// Configuration loading (design §6). Every key has three spellings:
//   file key      zk.session_timeout           (in the TOML file, under [zk])
//   flag          --zk.session_timeout 6s      (or --zk.session_timeout=6s)
//   environment   ZKELECT_ZK_SESSION_TIMEOUT=6s
// and the value that wins is the one from the highest of
//   flag > environment > file > default.
// The shipped config/zkelect.toml lists every key with its default.

// Where LoadConfig looks for the file when neither --config nor
// ZKELECT_CONFIG names one. A missing file there is not an error.
inline constexpr char kDefaultConfigPath[] = "/etc/zkelect/zkelect.toml";

// Values captured from command-line flags, validated later by LoadConfig.
struct RawFlags {
  // --config: the TOML file to read. Empty means "read no file".
  std::optional<std::string> config_path;
  // Not a flag: the file read when neither --config nor ZKELECT_CONFIG names
  // one, which may be missing (tests point it elsewhere).
  std::string default_config_path = kDefaultConfigPath;
  // "zk.servers" -> "..." as typed, for each --<key> given (the last one wins).
  std::map<std::string, std::string> values;
  // --meta key=value, in the order given (repeatable).
  std::vector<std::string> meta;
  // Not a flag: when set, only these keys are read from the file; the
  // others, and any problem of theirs (a bad value, an unknown key), are left
  // to the daemon. The client commands read only what they need to reach the
  // daemon, so that a typo in the daemon's settings cannot fail a probe of a
  // daemon that still runs on its old configuration.
  std::optional<std::set<std::string>> only_file_keys;
};

// Adds --config, --meta and one --<key> option per configuration key to
// `cmd` (e.g. --zk.servers, --election.campaign), in an option group of its
// own. Parsing `cmd` stores the raw strings into *flags, which must outlive
// the parse; nothing is validated here. `--key=` and a `--key` followed by
// another option or nothing give the empty string.
void AddConfigFlags(CLI::App& cmd, RawFlags* flags);

// Environment variables, name -> value.
using Environment = std::map<std::string, std::string>;

// A copy of the process environment (::environ). Not thread-safe against
// concurrent setenv(), like getenv().
Environment CurrentEnvironment();

// Builds the effective configuration: defaults < file < environment < flags.
//
// The file is --config, else ZKELECT_CONFIG, else flags.default_config_path
// (kDefaultConfigPath); an empty path means no file. Only the default path
// may be missing; an
// explicitly named file that is missing or unreadable is an error, as is a
// TOML syntax error ("<file>:<line>: <what>") and an unknown key in the file.
// A file that users other than its owner and group may write is refused.
// From the environment only ZKELECT_CONFIG, ZKELECT_META and the variables
// of known keys are read. Another ZKELECT_* name is an error when it is
// within a typo of a key's variable (ZKELECT_ELECTON_PATH: "did you mean
// ZKELECT_ELECTION_PATH"), and otherwise a warning, except for the variables
// zkelect sets for hooks (ZKELECT_EVENT and others). `meta` merges key by key across the
// sources ([meta] table < ZKELECT_META="k=v,k2=v2" < --meta k=v); every other
// key is replaced whole, lists included (comma-separated in env and flags).
//
// Every value given by any source is validated, then the merged result as a
// whole (http.default_wait <= http.max_wait, not both zk.auth and
// zk.auth_file), then the files it names are read (zk.auth_file,
// http.token_file). The first problem is returned as InvalidArgument with one
// line naming the key, the value, where it came from and what was expected:
//   zk.session_timeout = "10x" (from --zk.session_timeout): expected a
//   duration like 250ms, 6s or 1m30s
// Secrets (zk.auth in any form, file contents) are never echoed. A secret
// file that others may write is refused; one that every user may read gives
// a warning. Warnings (one line each, in the same shape) go to *warnings
// when it is not null, for the caller to log once logging is set up.
// Nothing is returned half-applied: either the whole Config or an error.
Result<Config> LoadConfig(const RawFlags& flags, const Environment& env,
                          std::vector<std::string>* warnings = nullptr);

}  // namespace zkelect
