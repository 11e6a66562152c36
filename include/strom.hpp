// strom.hpp: a thin, header-only C++17 wrapper over strom.h. Handles become move-only RAII
// objects, failed calls throw strom::error (with the strom_result, the message and the Kafka
// error code), and byte buffers are std::string_view. Everything else is the C API: see
// strom.h for what each call does. Hand-written, not generated.
#ifndef STROM_HPP
#define STROM_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strom.h"

namespace strom {

/// A failed strom call.
class error : public std::runtime_error {
 public:
  error(strom_result code, const char *message, int16_t kafka_code)
      : std::runtime_error(message), code_(code), kafka_code_(kafka_code) {}
  strom_result code() const noexcept { return code_; }
  /// The Kafka error code (0 when there is none).
  int16_t kafka_code() const noexcept { return kafka_code_; }

 private:
  strom_result code_;
  int16_t kafka_code_;
};

/// Throws the calling thread's last error unless `result` is STROM_OK.
inline void check(strom_result result) {
  if (result != STROM_OK) {
    throw error(result, strom_last_error(), strom_last_kafka_code());
  }
}

namespace detail {
template <typename T, void (*Free)(T *)>
struct deleter {
  void operator()(T *p) const noexcept { Free(p); }
};
template <typename T, void (*Free)(T *)>
using handle = std::unique_ptr<T, deleter<T, Free>>;

inline const uint8_t *bytes(std::optional<std::string_view> b) {
  return b ? reinterpret_cast<const uint8_t *>(b->data()) : nullptr;
}
inline std::optional<std::string_view> view(const uint8_t *p, size_t n) {
  if (p == nullptr) return std::nullopt;
  return std::string_view(reinterpret_cast<const char *>(p), n);
}
}  // namespace detail

/// Kafka configuration pairs for a producer, consumer or admin client.
class config {
 public:
  config() {
    strom_config *c = nullptr;
    check(strom_config_new(&c));
    h_.reset(c);
  }
  config(std::initializer_list<std::pair<std::string, std::string>> pairs) : config() {
    for (const auto &[name, value] : pairs) set(name, value);
  }
  config &set(const std::string &name, const std::string &value) {
    check(strom_config_set(h_.get(), name.c_str(), value.c_str()));
    return *this;
  }
  const strom_config *get() const noexcept { return h_.get(); }

 private:
  detail::handle<strom_config, strom_config_free> h_;
};

/// An embedded broker.
class broker {
 public:
  explicit broker(const std::string &dir) {
    strom_broker *b = nullptr;
    check(strom_broker_open(dir.c_str(), &b));
    h_.reset(b);
  }
  void create_topic(const std::string &name, int32_t partitions = -1) {
    check(strom_broker_create_topic(h_.get(), name.c_str(), partitions));
  }
  /// Serves the Kafka protocol on `listen`; returns the bound address.
  std::string serve(const std::string &listen) {
    char addr[128];
    check(strom_broker_serve(h_.get(), listen.c_str(), addr, sizeof addr));
    return addr;
  }
  void close() { check(strom_broker_close(h_.get())); }
  strom_broker *get() const noexcept { return h_.get(); }

 private:
  detail::handle<strom_broker, strom_broker_free> h_;
};

/// A consumed record; key and value views live as long as the message.
class message {
 public:
  explicit message(strom_message *m) : h_(m) {}
  std::string_view topic() const { return strom_message_topic(h_.get()); }
  int32_t partition() const { return strom_message_partition(h_.get()); }
  int64_t offset() const { return strom_message_offset(h_.get()); }
  int64_t timestamp() const { return strom_message_timestamp(h_.get()); }
  std::optional<std::string_view> key() const {
    size_t n = 0;
    const uint8_t *p = strom_message_key(h_.get(), &n);
    return detail::view(p, n);
  }
  std::optional<std::string_view> value() const {
    size_t n = 0;
    const uint8_t *p = strom_message_value(h_.get(), &n);
    return detail::view(p, n);
  }
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers() const {
    std::vector<std::pair<std::string_view, std::optional<std::string_view>>> out;
    for (size_t i = 0, n = strom_message_header_count(h_.get()); i < n; i++) {
      const char *k = nullptr;
      const uint8_t *v = nullptr;
      size_t len = 0;
      check(strom_message_header(h_.get(), i, &k, &v, &len));
      out.emplace_back(k, detail::view(v, len));
    }
    return out;
  }

 private:
  detail::handle<strom_message, strom_message_free> h_;
};

/// Where a record landed.
struct delivery {
  int32_t partition;
  int64_t offset;
};

class producer {
 public:
  /// A producer for `bootstrap.servers` in `cfg`.
  explicit producer(const config &cfg) {
    strom_producer *p = nullptr;
    check(strom_producer_new(cfg.get(), &p));
    h_.reset(p);
  }
  /// A producer writing into `b` in this process.
  explicit producer(broker &b, const config *cfg = nullptr) {
    strom_producer *p = nullptr;
    check(strom_producer_new_in_process(b.get(), cfg ? cfg->get() : nullptr, &p));
    h_.reset(p);
  }
  /// Sends and waits for the acknowledgement. std::nullopt key/value: null.
  delivery send(const std::string &topic, std::optional<std::string_view> key,
                std::optional<std::string_view> value, int32_t partition = -1) {
    delivery d{-1, -1};
    check(strom_producer_send(h_.get(), topic.c_str(), partition, detail::bytes(key),
                              key ? key->size() : 0, detail::bytes(value),
                              value ? value->size() : 0, nullptr, 0, &d.partition, &d.offset));
    return d;
  }
  /// Queues without waiting; failures come from flush() or close().
  void send_async(const std::string &topic, std::optional<std::string_view> key,
                  std::optional<std::string_view> value, int32_t partition = -1) {
    check(strom_producer_send_async(h_.get(), topic.c_str(), partition, detail::bytes(key),
                                    key ? key->size() : 0, detail::bytes(value),
                                    value ? value->size() : 0, nullptr, 0));
  }
  void flush(int32_t timeout_ms = -1) { check(strom_producer_flush(h_.get(), timeout_ms)); }
  void close() { check(strom_producer_close(h_.get())); }

 private:
  detail::handle<strom_producer, strom_producer_free> h_;
};

class consumer {
 public:
  explicit consumer(const config &cfg) {
    strom_consumer *c = nullptr;
    check(strom_consumer_new(cfg.get(), &c));
    h_.reset(c);
  }
  explicit consumer(broker &b, const config *cfg = nullptr) {
    strom_consumer *c = nullptr;
    check(strom_consumer_new_in_process(b.get(), cfg ? cfg->get() : nullptr, &c));
    h_.reset(c);
  }
  void subscribe(const std::vector<std::string> &topics) {
    std::vector<const char *> names;
    for (const auto &t : topics) names.push_back(t.c_str());
    check(strom_consumer_subscribe(h_.get(), names.data(), names.size()));
  }
  void assign(const std::vector<std::pair<std::string, int32_t>> &partitions) {
    std::vector<const char *> topics;
    std::vector<int32_t> numbers;
    for (const auto &[t, p] : partitions) {
      topics.push_back(t.c_str());
      numbers.push_back(p);
    }
    check(strom_consumer_assign(h_.get(), topics.data(), numbers.data(), topics.size()));
  }
  /// The next record, or std::nullopt when none came within `timeout_ms`.
  std::optional<message> poll(int32_t timeout_ms) {
    strom_message *m = nullptr;
    check(strom_consumer_poll(h_.get(), timeout_ms, &m));
    if (m == nullptr) return std::nullopt;
    return message(m);
  }
  void commit() { check(strom_consumer_commit(h_.get())); }
  void seek(const std::string &topic, int32_t partition, int64_t offset) {
    check(strom_consumer_seek(h_.get(), topic.c_str(), partition, offset));
  }
  void close() { check(strom_consumer_close(h_.get())); }

 private:
  detail::handle<strom_consumer, strom_consumer_free> h_;
};

class admin {
 public:
  explicit admin(const config &cfg) {
    strom_admin *a = nullptr;
    check(strom_admin_new(cfg.get(), &a));
    h_.reset(a);
  }
  explicit admin(broker &b, const config *cfg = nullptr) {
    strom_admin *a = nullptr;
    check(strom_admin_new_in_process(b.get(), cfg ? cfg->get() : nullptr, &a));
    h_.reset(a);
  }
  void create_topic(const std::string &name, int32_t partitions = -1) {
    check(strom_admin_create_topic(h_.get(), name.c_str(), partitions));
  }
  void delete_topic(const std::string &name) {
    check(strom_admin_delete_topic(h_.get(), name.c_str()));
  }
  std::vector<std::string> list_topics() {
    strom_topic_list *l = nullptr;
    check(strom_admin_list_topics(h_.get(), &l));
    detail::handle<strom_topic_list, strom_topic_list_free> list(l);
    std::vector<std::string> names;
    for (size_t i = 0, n = strom_topic_list_count(l); i < n; i++) {
      names.emplace_back(strom_topic_list_get(l, i));
    }
    return names;
  }

 private:
  detail::handle<strom_admin, strom_admin_free> h_;
};

}  // namespace strom

#endif  // STROM_HPP
