// The control service's store: a small key-value interface shaped like
// etcd's (get, range, transaction with revision compares, watch from a
// revision, compaction) so a second backend can sit behind it. One
// monotonic revision counts transactions; each key carries the revision that
// created it, the one that last changed it and its version (changes since
// creation).
//
// OpenRocksStore is the embedded default: every transaction is one RocksDB
// WriteBatch written with sync (acknowledged == durable), history is kept
// for watches and compacted past a window. Opening an existing directory
// restores everything; a directory that is not a Berth store, or is
// corrupt, is an error (EINVAL / EIO) and is never reset.
//
// Thread-safe: any number of readers, writers (serialized) and watches.
// Errors: ESTALE for a watch from a compacted revision ("too old: list
// again"), EINVAL for bad arguments, EIO for RocksDB failures, with context.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/error.h"

namespace berth::control {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
};

// A condition of a transaction on one key's metadata; a missing key has
// all three at 0 (so "create only if absent" is mod_revision == 0).
struct Compare {
  enum class Target { kModRevision, kCreateRevision, kVersion };
  std::string key;
  Target target = Target::kModRevision;
  int64_t value = 0;
};

struct Op {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // kPut
};

struct TxnResult {
  bool succeeded = false;  // every compare held: the success ops ran
  int64_t revision = 0;    // of the store after the transaction
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  bool more = false;  // the limit cut the range short
  int64_t revision = 0;
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For kDelete: mod_revision is the deleting revision, value the last
  // value the key had.
  KeyValue kv;
};

// Events of one watch, in revision order, none skipped.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Waits up to `timeout` for events; an empty vector after the timeout.
  // ECANCELED once Cancel() was called or the store closed.
  virtual Result<std::vector<Event>> Next(std::chrono::milliseconds timeout) = 0;
  virtual void Cancel() = 0;
  // Calls `ready` whenever events (or the cancellation) are waiting, and at
  // once if some already are; Next(0) then returns them without blocking.
  // It runs on the thread that queues the events, inside the store's
  // commit, so it must only hand the work on. This lets a few threads serve
  // thousands of watches instead of one blocked thread each.
  virtual void SetReadyCallback(std::function<void()> ready) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::optional<KeyValue>> Get(std::string_view key) = 0;
  // Keys in [key, end), in order; end "\0" means every key >= key (as in
  // etcd); `limit` 0 means all.
  virtual Result<RangeResult> Range(std::string_view key, std::string_view end,
                                    int64_t limit = 0) = 0;
  virtual Result<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<Op>& success,
                                const std::vector<Op>& failure = {}) = 0;
  // Events for keys in [key, end) with revision >= `from` (0: from now).
  virtual Result<std::unique_ptr<WatchStream>> Watch(std::string_view key, std::string_view end,
                                                     int64_t from) = 0;
  // Drops history before `revision`; watches cannot start before it.
  virtual Status Compact(int64_t revision) = 0;
  virtual int64_t Revision() const = 0;
  virtual int64_t CompactedRevision() const = 0;
};

// The end of the range of every key starting with `prefix` ("\0", every
// key, for an empty prefix or one of only 0xff bytes).
std::string PrefixEnd(std::string_view prefix);

struct RocksStoreOptions {
  std::filesystem::path dir;
  // History kept for watches, in revisions; older history is compacted
  // automatically. 0: never automatically.
  int64_t history_revisions = 100000;
};

Result<std::unique_ptr<Store>> OpenRocksStore(const RocksStoreOptions& options);

}  // namespace berth::control
