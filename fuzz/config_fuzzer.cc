// libFuzzer target for the configuration file: the TOML subset parser
// (src/config/toml.cc) and the loader that validates it
// (src/config/config_loader.cc). The input is the text of a zkelect.toml.
//
// Properties:
//  - ParseToml accepts or refuses any bytes with an error
//    "<file>:<line>: <what>";
//  - an accepted document re-renders, one `key = value` line per entry
//    (FormatTomlKey/FormatTomlValue), to text that parses to the same
//    document;
//  - LoadConfig of the file refuses whatever ParseToml refuses, and loads
//    the same Config from the re-rendered text as from the original;
//  - a loader error has a message.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "zkelect/config/config.h"
#include "zkelect/config/config_loader.h"
#include "zkelect/config/toml.h"

namespace {

constexpr char kSourceName[] = "fuzz.toml";

std::string Render(const zkelect::TomlDocument& document) {
  std::string text;
  for (const auto& [key, entry] : document) {
    text +=
        zkelect::FormatTomlKey(entry.path) + " = " + zkelect::FormatTomlValue(entry.value) + "\n";
  }
  return text;
}

bool SameEntries(const zkelect::TomlDocument& a, const zkelect::TomlDocument& b) {
  if (a.size() != b.size()) return false;
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    if (i->first != j->first || i->second.path != j->second.path ||
        i->second.value != j->second.value) {
      return false;
    }
  }
  return true;
}

// LoadConfig of `text` as the --config file, with an empty environment. The
// file is a memfd (a regular file, as the loader requires) named through
// /proc, so that fuzzing writes nothing to disk.
zkelect::Result<zkelect::Config> LoadText(std::string_view text) {
  const int fd = ::memfd_create("zkelect-fuzz.toml", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0, "memfd_create works");
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    FUZZ_CHECK(n > 0, "writing the memfd works");
    written += static_cast<std::size_t>(n);
  }
  zkelect::RawFlags flags;
  flags.config_path = "/proc/self/fd/" + std::to_string(fd);
  zkelect::Result<zkelect::Config> config = zkelect::LoadConfig(flags, zkelect::Environment{});
  ::close(fd);
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const zkelect::Result<zkelect::TomlDocument> document = zkelect::ParseToml(text, kSourceName);
  const zkelect::Result<zkelect::Config> config = LoadText(text);
  if (!config.ok()) FUZZ_CHECK(!config.status().message().empty(), "a loader error has a message");
  if (!document.ok()) {
    FUZZ_CHECK(document.status().message().starts_with(std::string(kSourceName) + ":"),
               "a TOML error starts with <file>:");
    FUZZ_CHECK(!config.ok(), "LoadConfig refuses what ParseToml refuses");
    return 0;
  }

  const std::string rendered = Render(*document);
  const zkelect::Result<zkelect::TomlDocument> reparsed = zkelect::ParseToml(rendered, kSourceName);
  FUZZ_CHECK(reparsed.ok(), "a rendered document parses");
  FUZZ_CHECK(SameEntries(*document, *reparsed), "a rendered document parses to the same entries");

  const zkelect::Result<zkelect::Config> reloaded = LoadText(rendered);
  FUZZ_CHECK(reloaded.ok() == config.ok(), "the rendered file loads iff the original does");
  if (config.ok()) FUZZ_CHECK(*reloaded == *config, "the rendered file loads the same Config");
  return 0;
}
