// The RocksDB store. Keys in one keyspace, by prefix:
//   m/format            "berth-store/1": tells a Berth store from anything else
//   m/rev, m/compacted  big-endian int64
//   k/<key>             create_revision, mod_revision, version (3 x be64), value
//   h/<rev be64><i be32> the i-th event of transaction <rev>: type (1 byte),
//                       create_revision, version (be64), key length (be32), key, value
// A transaction is one WriteBatch (state, history, m/rev) written with sync.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "watch_hub.h"

#include "berth/control/store.h"

namespace berth::control {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFormat = "berth-store/1";
constexpr std::string_view kFormatKey = "m/format";
constexpr std::string_view kRevKey = "m/rev";
constexpr std::string_view kCompactedKey = "m/compacted";

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBe(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}
std::string Be64(int64_t v) {
  std::string s;
  PutBe(&s, static_cast<uint64_t>(v), 8);
  return s;
}

std::string StateKey(std::string_view key) { return "k/" + std::string(key); }
std::string HistoryKey(int64_t rev, uint32_t i) {
  std::string s = "h/";
  PutBe(&s, static_cast<uint64_t>(rev), 8);
  PutBe(&s, i, 4);
  return s;
}

Error RocksError(const rocksdb::Status& s, const std::string& what) {
  const int err = s.IsCorruption()        ? EIO
                  : s.IsIOError()         ? EIO
                  : s.IsInvalidArgument() ? EINVAL
                                          : EIO;
  return Error::Sys(err, what + ": " + s.ToString());
}

std::string EncodeState(const KeyValue& kv) {
  std::string s;
  PutBe(&s, static_cast<uint64_t>(kv.create_revision), 8);
  PutBe(&s, static_cast<uint64_t>(kv.mod_revision), 8);
  PutBe(&s, static_cast<uint64_t>(kv.version), 8);
  s += kv.value;
  return s;
}

Result<KeyValue> DecodeState(std::string_view key, std::string_view data) {
  if (data.size() < 24)
    return Error::Sys(EIO, "store: state record of " + std::string(key) + " is truncated");
  KeyValue kv;
  kv.key = std::string(key);
  kv.create_revision = static_cast<int64_t>(GetBe(data, 0, 8));
  kv.mod_revision = static_cast<int64_t>(GetBe(data, 8, 8));
  kv.version = static_cast<int64_t>(GetBe(data, 16, 8));
  kv.value = std::string(data.substr(24));
  return kv;
}

std::string EncodeEvent(const Event& e) {
  std::string s(1, e.type == Event::Type::kPut ? 'p' : 'd');
  PutBe(&s, static_cast<uint64_t>(e.kv.create_revision), 8);
  PutBe(&s, static_cast<uint64_t>(e.kv.version), 8);
  PutBe(&s, e.kv.key.size(), 4);
  s += e.kv.key;
  s += e.kv.value;
  return s;
}

Result<Event> DecodeEvent(int64_t rev, std::string_view data) {
  if (data.size() < 21) return Error::Sys(EIO, "store: history record truncated");
  Event e;
  e.type = data[0] == 'p' ? Event::Type::kPut : Event::Type::kDelete;
  e.kv.create_revision = static_cast<int64_t>(GetBe(data, 1, 8));
  e.kv.version = static_cast<int64_t>(GetBe(data, 9, 8));
  const size_t klen = GetBe(data, 17, 4);
  if (data.size() < 21 + klen) return Error::Sys(EIO, "store: history record truncated");
  e.kv.key = std::string(data.substr(21, klen));
  e.kv.value = std::string(data.substr(21 + klen));
  e.kv.mod_revision = rev;
  return e;
}

// etcd's convention: end "\0" means every key >= key.
bool Unbounded(std::string_view end) { return end.size() == 1 && end[0] == '\0'; }

bool InRange(const std::string& k, std::string_view key, std::string_view end) {
  if (end.empty()) return k == key;
  return k >= key && (Unbounded(end) || k < end);
}

class RocksStore final : public Store {
 public:
  RocksStore(std::unique_ptr<rocksdb::DB> db, int64_t rev, int64_t compacted, int64_t window)
      : db_(std::move(db)),
        rev_(rev),
        compacted_(compacted),
        window_(window),
        hub_(std::make_shared<WatchHub>()) {}

  Result<std::optional<KeyValue>> Get(std::string_view key) override {
    std::shared_lock lock(mu_);
    return GetLocked(key);
  }

  Result<RangeResult> Range(std::string_view key, std::string_view end, int64_t limit) override {
    if (end.empty()) return Error::Invalid("range: empty end (use Get for one key)");
    std::shared_lock lock(mu_);
    RangeResult r;
    r.revision = rev_;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    const std::string stop = Unbounded(end) ? std::string("k0") : StateKey(end);  // '0' follows '/'
    for (it->Seek(StateKey(key)); it->Valid() && it->key().ToString() < stop; it->Next()) {
      if (limit > 0 && static_cast<int64_t>(r.kvs.size()) == limit) {
        r.more = true;
        break;
      }
      const std::string k = it->key().ToString().substr(2);
      BERTH_ASSIGN_OR_RETURN(KeyValue kv, DecodeState(k, it->value().ToStringView()));
      r.kvs.push_back(std::move(kv));
    }
    if (!it->status().ok()) return RocksError(it->status(), "range " + std::string(key));
    return r;
  }

  // Group commit: concurrent transactions queue up; the first becomes the
  // leader and commits everything queued as one RocksDB write with one
  // sync, each transaction keeping its own revision and its own compares
  // (evaluated in queue order, seeing the transactions before it). A
  // transaction is acknowledged only after that sync, so "acknowledged
  // means on disk" holds while one fsync serves many writers.
  Result<TxnResult> Txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                        const std::vector<Op>& failure) override {
    for (const auto* ops : {&success, &failure}) {
      for (const Op& op : *ops) {
        if (op.key.empty()) return Error::Invalid("txn: empty key");
      }
    }
    Pending self{&compares, &success, &failure};
    std::unique_lock qlock(queue_mu_);
    queue_.push_back(&self);
    queue_cv_.wait(qlock, [&] { return self.done || !leading_; });
    if (self.done) return std::move(self.result);
    leading_ = true;
    while (!queue_.empty()) {
      std::vector<Pending*> group(queue_.begin(), queue_.end());
      queue_.clear();
      qlock.unlock();
      CommitGroup(group);
      qlock.lock();
      for (Pending* p : group) p->done = true;
      queue_cv_.notify_all();
    }
    leading_ = false;
    queue_cv_.notify_all();
    return std::move(self.result);
  }

  Result<std::unique_ptr<WatchStream>> Watch(std::string_view key, std::string_view end,
                                             int64_t from) override {
    // Under the write lock: nothing commits between the history read and
    // the registration, so no event is lost or doubled.
    std::unique_lock lock(mu_);
    std::deque<Event> backlog;
    if (from > 0 && from <= rev_) {
      if (from <= compacted_) {
        return Error::Sys(ESTALE, "watch from revision " + std::to_string(from) +
                                      ": too old, compacted up to " + std::to_string(compacted_) +
                                      "; list again and watch from the list's revision");
      }
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(HistoryKey(from, 0)); it->Valid() && it->key().starts_with("h/"); it->Next()) {
        const int64_t rev = static_cast<int64_t>(GetBe(it->key().ToStringView(), 2, 8));
        BERTH_ASSIGN_OR_RETURN(Event e, DecodeEvent(rev, it->value().ToStringView()));
        if (InRange(e.kv.key, key, end)) backlog.push_back(std::move(e));
      }
      if (!it->status().ok()) return RocksError(it->status(), "read history");
    }
    return hub_->Add(std::string(key), std::string(end), std::move(backlog));
  }

  Status Compact(int64_t revision) override {
    std::unique_lock lock(mu_);
    return CompactLocked(revision);
  }

  int64_t Revision() const override {
    std::shared_lock lock(mu_);
    return rev_;
  }
  int64_t CompactedRevision() const override {
    std::shared_lock lock(mu_);
    return compacted_;
  }

 private:
  struct Pending {
    const std::vector<Compare>* compares;
    const std::vector<Op>* success;
    const std::vector<Op>* failure;
    Result<TxnResult> result = Error::Msg("not committed");
    bool done = false;
  };

  // Evaluates and commits `group` (queue order). One transaction's failing
  // compares only select its failure ops; a RocksDB write error fails the
  // whole group and changes nothing.
  void CommitGroup(const std::vector<Pending*>& group) {
    std::unique_lock lock(mu_);
    rocksdb::WriteBatch batch;
    std::vector<Event> events;
    // Keys written earlier in this group, as later transactions must see them.
    std::map<std::string, std::optional<KeyValue>> overlay;
    auto current = [&](const std::string& key) -> Result<std::optional<KeyValue>> {
      if (auto it = overlay.find(key); it != overlay.end()) return it->second;
      return GetLocked(key);
    };
    int64_t rev = rev_;
    std::vector<TxnResult> results(group.size());
    for (size_t g = 0; g < group.size(); ++g) {
      const Pending& p = *group[g];
      bool ok = true;
      for (const Compare& c : *p.compares) {
        auto kv = current(c.key);
        if (!kv.ok()) {
          for (Pending* q : group) q->result = kv.error();
          return;
        }
        int64_t have = 0;
        if (*kv) {
          have = c.target == Compare::Target::kModRevision      ? (*kv)->mod_revision
                 : c.target == Compare::Target::kCreateRevision ? (*kv)->create_revision
                                                                : (*kv)->version;
        }
        if (have != c.value) {
          ok = false;
          break;
        }
      }
      const std::vector<Op>& ops = ok ? *p.success : *p.failure;
      const int64_t txn_rev = rev + 1;
      uint32_t sub = 0;
      for (const Op& op : ops) {
        auto cur = current(op.key);
        if (!cur.ok()) {
          for (Pending* q : group) q->result = cur.error();
          return;
        }
        Event e;
        if (op.kind == Op::Kind::kPut) {
          KeyValue kv;
          kv.key = op.key;
          kv.value = op.value;
          kv.create_revision = *cur ? (*cur)->create_revision : txn_rev;
          kv.version = *cur ? (*cur)->version + 1 : 1;
          kv.mod_revision = txn_rev;
          batch.Put(StateKey(op.key), EncodeState(kv));
          e.type = Event::Type::kPut;
          e.kv = kv;
          overlay[op.key] = kv;
        } else {
          if (!*cur) continue;
          batch.Delete(StateKey(op.key));
          e.type = Event::Type::kDelete;
          e.kv.key = op.key;
          e.kv.mod_revision = txn_rev;
          e.kv.create_revision = (*cur)->create_revision;
          e.kv.version = (*cur)->version;
          // The last value, as etcd's prev_kv: a watcher learns what went away.
          e.kv.value = (*cur)->value;
          overlay[op.key] = std::nullopt;
        }
        batch.Put(HistoryKey(txn_rev, sub++), EncodeEvent(e));
        events.push_back(std::move(e));
      }
      // A transaction that wrote nothing takes no revision.
      if (sub > 0) rev = txn_rev;
      results[g] = TxnResult{ok, rev};
    }
    if (rev != rev_) {
      batch.Put(std::string(kRevKey), Be64(rev));
      rocksdb::WriteOptions wo;
      wo.sync = true;  // acknowledged means on disk
      rocksdb::Status s = db_->Write(wo, &batch);
      if (!s.ok()) {
        Error err = RocksError(
            s, "commit revisions " + std::to_string(rev_ + 1) + ".." + std::to_string(rev));
        for (Pending* q : group) q->result = err;
        return;
      }
      rev_ = rev;
      hub_->Publish(events);
    }
    Status compacted;
    if (window_ > 0 && rev_ - compacted_ > 2 * window_) {
      compacted = CompactLocked(rev_ - window_);
    }
    for (size_t g = 0; g < group.size(); ++g) {
      if (!compacted.ok()) {
        group[g]->result = Error(compacted.error()).Wrap("automatic compaction");
      } else {
        group[g]->result = results[g];
      }
    }
  }

  Result<std::optional<KeyValue>> GetLocked(std::string_view key) {
    std::string data;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), StateKey(key), &data);
    if (s.IsNotFound()) return std::optional<KeyValue>();
    if (!s.ok()) return RocksError(s, "get " + std::string(key));
    BERTH_ASSIGN_OR_RETURN(KeyValue kv, DecodeState(key, data));
    return std::optional<KeyValue>(std::move(kv));
  }

  Status CompactLocked(int64_t revision) {
    if (revision > rev_) {
      return Error::Invalid("compact " + std::to_string(revision) +
                            ": beyond the current revision " + std::to_string(rev_));
    }
    if (revision <= compacted_) return Ok();
    rocksdb::WriteBatch batch;
    batch.DeleteRange(HistoryKey(0, 0), HistoryKey(revision, 0));
    batch.Put(std::string(kCompactedKey), Be64(revision - 1));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) return RocksError(s, "compact to " + std::to_string(revision));
    compacted_ = revision - 1;
    return Ok();
  }

  mutable std::shared_mutex mu_;  // writers exclusive; readers see whole transactions
  // The group-commit queue (Txn): waiting transactions and whether one of
  // them is committing as the leader.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending*> queue_;
  bool leading_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  int64_t rev_;
  int64_t compacted_;  // history up to and including this revision is gone
  int64_t window_;
  std::shared_ptr<WatchHub> hub_;
};

Result<int64_t> ReadMeta(rocksdb::DB* db, std::string_view key) {
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), std::string(key), &v);
  if (s.IsNotFound()) return int64_t{0};
  if (!s.ok()) return RocksError(s, "read " + std::string(key));
  if (v.size() != 8) return Error::Sys(EIO, "store: " + std::string(key) + " is malformed");
  return static_cast<int64_t>(GetBe(v, 0, 8));
}

}  // namespace

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key (treated as "no upper bound" by callers)
}

Result<std::unique_ptr<Store>> OpenRocksStore(const RocksStoreOptions& o) {
  std::error_code ec;
  const bool fresh = !fs::exists(o.dir, ec) || fs::is_empty(o.dir, ec);
  if (!fresh && !fs::exists(o.dir / "CURRENT", ec)) {
    return Error::Invalid("store " + o.dir.string() +
                          ": the directory is not empty and holds no store; refusing to use it");
  }
  rocksdb::Options options;
  options.create_if_missing = fresh;
  options.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, o.dir.string(), &raw);
  if (!s.ok()) return RocksError(s, "open store " + o.dir.string());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), std::string(kFormatKey), &format);
  if (s.IsNotFound()) {
    if (!fresh) {
      return Error::Invalid("store " + o.dir.string() +
                            ": a RocksDB database, but not a Berth store");
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, std::string(kFormatKey), std::string(kFormat));
    if (!s.ok()) return RocksError(s, "initialize store " + o.dir.string());
  } else if (!s.ok()) {
    return RocksError(s, "open store " + o.dir.string());
  } else if (format != kFormat) {
    return Error::Invalid("store " + o.dir.string() + ": format \"" + format + "\", expected \"" +
                          std::string(kFormat) + "\"");
  }
  BERTH_ASSIGN_OR_RETURN(int64_t rev, ReadMeta(db.get(), kRevKey));
  BERTH_ASSIGN_OR_RETURN(int64_t compacted, ReadMeta(db.get(), kCompactedKey));
  return std::unique_ptr<Store>(
      std::make_unique<RocksStore>(std::move(db), rev, compacted, o.history_revisions));
}

}  // namespace berth::control
