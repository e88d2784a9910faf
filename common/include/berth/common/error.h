// Error and Result<T>: how every fallible Berth function reports failure.
//
// An Error carries the errno of the failing call (0 when the failure is not a
// system error, e.g. a validation failure) and a context chain, outermost
// first, rendered as "create cgroup /x: mkdir: File exists (EEXIST)".
// Each layer adds its own context with Wrap(). Values are cheap to move and
// not thread-safe to mutate concurrently (like any value type).
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace berth {

class Error {
 public:
  Error() = default;

  // A failed system call; `what` names the call and its object ("mkdir /x").
  static Error Sys(int err, std::string what);
  // Same, reading errno right now. Call it immediately after the failing call.
  static Error FromErrno(std::string what) { return Sys(errno, std::move(what)); }
  // A failure that is not a system error (bad input, unsupported feature).
  static Error Invalid(std::string what) { return Sys(EINVAL, std::move(what)); }
  static Error Msg(std::string what) { return Sys(0, std::move(what)); }

  // Adds outer context: Wrap("create cgroup /x") on "mkdir: EEXIST" renders as
  // "create cgroup /x: mkdir: EEXIST".
  Error&& Wrap(std::string context) &&;
  Error& Wrap(std::string context) &;

  int err() const { return errno_; }
  std::string ToString() const;
  // The context chain without the errno suffix (to rebuild the Error elsewhere).
  std::string Chain() const;
  // The innermost message, without the context chain.
  const std::string& message() const { return frames_.front(); }

 private:
  int errno_ = 0;
  // frames_[0] is the innermost message; later entries are outer contexts.
  std::vector<std::string> frames_;
};

// Symbolic name for an errno ("EEXIST"), or "E<number>".
const char* ErrnoName(int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  // Adds context to the error, if any, and passes the result on.
  Result&& Wrap(std::string context) && {
    if (!ok()) std::get<1>(v_).Wrap(std::move(context));
    return std::move(*this);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

  Result&& Wrap(std::string context) && {
    if (!ok_) error_.Wrap(std::move(context));
    return std::move(*this);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

// The outcome of a Result without its value.
template <typename T>
Status StatusOf(Result<T>&& r) {
  if (r.ok()) return {};
  return std::move(r).error();
}

// Deliberately drops an error. `why` must name the tolerated errno and the
// reason ("ENOENT: already removed"); grep for IgnoreError to audit them.
template <typename T>
void IgnoreError(Result<T>&& r, const char* why) {
  (void)r;
  (void)why;
}

}  // namespace berth

#define BERTH_CONCAT_INNER(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_INNER(a, b)

// Returns the error of a Status-returning expression, with optional context.
#define BERTH_TRY(expr)                            \
  do {                                             \
    auto berth_try_status_ = (expr);               \
    if (!berth_try_status_.ok()) {                 \
      return std::move(berth_try_status_).error(); \
    }                                              \
  } while (0)

#define BERTH_TRY_CTX(expr, ctx)                             \
  do {                                                       \
    auto berth_try_status_ = (expr);                         \
    if (!berth_try_status_.ok()) {                           \
      return std::move(berth_try_status_).error().Wrap(ctx); \
    }                                                        \
  } while (0)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration, `tmp` a name.
#define BERTH_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

// BERTH_ASSIGN_OR_RETURN(auto fd, OpenAt(...));
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL(BERTH_CONCAT(berth_result_, __LINE__), lhs, expr)
