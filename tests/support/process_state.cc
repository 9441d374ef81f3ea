#include "support/process_state.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

namespace zkelect::test {

std::optional<ProcessStat> ReadProcessStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "pid (comm) S ppid ...": the state follows the last ')' (comm may hold
  // any bytes).
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  ProcessStat out;
  out.pid = pid;
  out.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream rest(stat.substr(close + 1));
  if (!(rest >> out.state >> out.ppid)) return std::nullopt;
  return out;
}

std::vector<ProcessStat> ProcessTree(pid_t root) {
  std::vector<ProcessStat> all;
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(dir)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
      if (pid <= 0) continue;
      if (std::optional<ProcessStat> stat = ReadProcessStat(pid)) all.push_back(*stat);
    }
    ::closedir(dir);
  }
  std::vector<ProcessStat> tree;
  for (const ProcessStat& stat : all) {
    if (stat.pid == root) tree.push_back(stat);
  }
  for (size_t i = 0; i < tree.size(); ++i) {
    for (const ProcessStat& stat : all) {
      if (stat.ppid == tree[i].pid) tree.push_back(stat);
    }
  }
  return tree;
}

int OpenDescriptors(pid_t pid) {
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
  ::closedir(dir);
  return count;
}

bool ProcessRunning(pid_t pid) {
  const std::optional<ProcessStat> stat = ReadProcessStat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

bool WaitProcessGone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ProcessRunning(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace zkelect::test
