#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <stdexcept>
#include <vector>

#include "zkelect/election/election_control.h"

namespace zkelect::testing {

// ElectionControl for tests of the HTTP layer and its clients: records the
// hold of every resign request and answers it at once with a preset outcome
// (kDone unless told otherwise), or leaves it pending when told nullopt.
// Thread-safe.
class FakeElectionControl : public ElectionControl {
 public:
  void Resign(std::chrono::milliseconds hold, std::function<void(ResignOutcome)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      holds_.push_back(hold);
    }
    Answer(std::move(done));
  }

  // Answered like Resign (AnswerWith, pending); the calls are recorded.
  void SetMaintenance(bool on, std::function<void(ResignOutcome)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      maintenance_calls_.push_back(on);
    }
    Answer(std::move(done));
  }

  // Answers from the node data set with SetNodeData(): a node without data
  // answers nullopt (gone). At once, on the caller's thread, unless
  // HoldReads(): then only at AnswerReads(), as the election loop answers,
  // later and on its own thread. Counts the nodes asked for.
  using ReadDone = std::function<void(const std::string& node, std::optional<std::string> data)>;
  void ReadNodeData(std::vector<std::string> nodes, ReadDone done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reads_ += nodes.size();
      if (hold_reads_) {
        for (std::string& node : nodes) held_reads_.emplace_back(std::move(node), done);
        changed_.notify_all();
        return;
      }
    }
    for (const std::string& node : nodes) done(node, DataOf(node));
  }
  void SetNodeData(const std::string& node, std::string data) {
    std::lock_guard<std::mutex> lock(mu_);
    node_data_[node] = std::move(data);
  }
  void HoldReads(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_reads_ = hold;
  }
  // Answers the held reads; returns how many.
  size_t AnswerReads() {
    std::vector<std::pair<std::string, ReadDone>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_reads_);
    }
    for (auto& [node, done] : held) done(node, DataOf(node));
    return held.size();
  }
  // Waits (bounded) until `count` reads are held.
  bool AwaitHeldReads(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return held_reads_.size() >= count; });
  }
  // Nodes asked for so far.
  size_t reads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }

  bool IsResponsive() const override {
    if (fail_) throw std::runtime_error("the fake was told to fail");
    return responsive_;
  }

  void set_responsive(bool responsive) { responsive_ = responsive; }
  // IsResponsive() throws while `fail` (a handler that fails: /healthz).
  void set_fail(bool fail) { fail_ = fail; }
  // Every later Resign is answered with `outcome` at once; nullopt: left
  // pending.
  void AnswerWith(std::optional<ResignOutcome> outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    outcome_ = outcome;
  }
  std::vector<bool> maintenance_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return maintenance_calls_;
  }
  std::vector<std::chrono::milliseconds> holds() const {
    std::lock_guard<std::mutex> lock(mu_);
    return holds_;
  }
  // Waits (bounded) until `count` resigns are pending.
  bool AwaitPending(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return pending_.size() >= count; });
  }
  void FinishPending(ResignOutcome outcome) {
    std::vector<std::function<void(ResignOutcome)>> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending.swap(pending_);
    }
    for (auto& done : pending) done(outcome);
  }

 private:
  void Answer(std::function<void(ResignOutcome)> done) {
    std::optional<ResignOutcome> answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      answer = outcome_;
      if (!answer) pending_.push_back(std::move(done));
    }
    changed_.notify_all();
    if (answer) done(*answer);
  }

  std::atomic<bool> responsive_{true};
  std::atomic<bool> fail_{false};
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::optional<ResignOutcome> outcome_ = ResignOutcome::kDone;
  std::vector<std::chrono::milliseconds> holds_;
  std::vector<bool> maintenance_calls_;
  std::vector<std::function<void(ResignOutcome)>> pending_;
  std::optional<std::string> DataOf(const std::string& node) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = node_data_.find(node);
    return it == node_data_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }

  std::map<std::string, std::string> node_data_;
  size_t reads_ = 0;
  bool hold_reads_ = false;
  std::vector<std::pair<std::string, ReadDone>> held_reads_;
};

}  // namespace zkelect::testing
