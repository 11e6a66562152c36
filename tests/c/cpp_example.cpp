// The C++ example: strom.h compiles as C++ and strom.hpp wraps it in RAII objects. An
// embedded broker serving TCP, an admin over TCP, an in-process producer, a TCP consumer,
// and errors as exceptions.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "common.h"
#include "strom.hpp"

#define REQUIRE(cond)                                                   \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::cerr << __FILE__ << ":" << __LINE__ << ": expected " #cond "\n"; \
      std::exit(1);                                                     \
    }                                                                   \
  } while (0)

int main() {
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  try {
    strom::broker broker(dir);
    std::string addr = broker.serve("127.0.0.1:0");

    strom::config net{{"bootstrap.servers", addr}};
    strom::admin admin(net);
    admin.create_topic("cpp", 2);
    REQUIRE(admin.list_topics() == std::vector<std::string>{"cpp"});

    {
      strom::producer producer(broker);
      for (int i = 0; i < 100; i++) {
        producer.send_async("cpp", "k" + std::to_string(i), "v" + std::to_string(i));
      }
      strom::delivery d = producer.send("cpp", std::nullopt, "tombstone-key-less", 1);
      REQUIRE(d.partition == 1 && d.offset >= 0);
      producer.flush();
    }

    strom::config group{{"bootstrap.servers", addr},
                        {"group.id", "cpp-group"},
                        {"auto.offset.reset", "earliest"}};
    strom::consumer consumer(group);
    consumer.subscribe({"cpp"});
    int received = 0;
    for (int empty = 0; received < 101 && empty < 20;) {
      std::optional<strom::message> m = consumer.poll(500);
      if (!m) {
        empty++;
        continue;
      }
      REQUIRE(m->topic() == "cpp" && m->value().has_value());
      if (m->key()) {
        REQUIRE(m->key()->substr(1) == m->value()->substr(1));
      } else {
        REQUIRE(*m->value() == "tombstone-key-less" && m->partition() == 1);
      }
      received++;
    }
    REQUIRE(received == 101);
    consumer.commit();

    // Errors are exceptions carrying the code, the message and the Kafka code.
    try {
      strom::config bad{{"linger.msec", "5"}};
      strom::producer p(broker, &bad);
      REQUIRE(false);
    } catch (const strom::error &e) {
      REQUIRE(e.code() == STROM_ERR_CONFIG);
      REQUIRE(std::string(e.what()).find("linger.msec") != std::string::npos);
      REQUIRE(e.kafka_code() == 40);
    }
    try {
      admin.create_topic("cpp");
      REQUIRE(false);
    } catch (const strom::error &e) {
      REQUIRE(e.code() == STROM_ERR_KAFKA && e.kafka_code() == 36);
    }
    std::cout << "cpp_example: " << received << " records through " << addr << "\n";
  } catch (const strom::error &e) {
    std::cerr << "unexpected strom error " << strom_result_name(e.code()) << ": " << e.what()
              << "\n";
    return 1;
  }
  remove_tree(dir);
  return 0;
}
