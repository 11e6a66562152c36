/* The broker serves on 127.0.0.1:0; a network admin, producer and consumer use the address it
 * reports. When kcat is on PATH it reads the same records back, proving the C producer's
 * batches are plain Kafka to librdkafka. */
#include "common.h"

#define TOPIC "tcp-roundtrip"
#define COUNT 500

int main(void) {
  char dir[256];
  make_temp_dir(dir, sizeof dir);

  strom_broker *broker = NULL;
  CHECK(strom_broker_open(dir, &broker));
  char addr[64];
  CHECK(strom_broker_serve(broker, "127.0.0.1:0", addr, sizeof addr));
  EXPECT(strncmp(addr, "127.0.0.1:", 10) == 0 && strcmp(addr, "127.0.0.1:0") != 0);
  printf("serving on %s\n", addr);

  strom_config *cfg = NULL;
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "bootstrap.servers", addr));

  strom_admin *admin = NULL;
  CHECK(strom_admin_new(cfg, &admin));
  CHECK(strom_admin_create_topic(admin, TOPIC, 2));
  CHECK(strom_admin_create_topic(admin, "doomed", 1));
  CHECK(strom_admin_delete_topic(admin, "doomed"));
  strom_topic_list *list = NULL;
  CHECK(strom_admin_list_topics(admin, &list));
  EXPECT(strom_topic_list_count(list) == 1 && strcmp(strom_topic_list_get(list, 0), TOPIC) == 0);
  strom_topic_list_free(list);
  strom_admin_free(admin);

  strom_producer *producer = NULL;
  CHECK(strom_config_set(cfg, "acks", "all"));
  CHECK(strom_producer_new(cfg, &producer));
  char key[32], value[32];
  for (int i = 0; i < COUNT; i++) {
    snprintf(key, sizeof key, "k%d", i);
    snprintf(value, sizeof value, "v%d", i);
    CHECK(strom_producer_send_async(producer, TOPIC, -1, (const uint8_t *)key, strlen(key),
                                    (const uint8_t *)value, strlen(value), NULL, 0));
  }
  int32_t partition = -1;
  int64_t offset = -1;
  CHECK(strom_producer_send(producer, TOPIC, 0, (const uint8_t *)"last", 4,
                            (const uint8_t *)"done", 4, NULL, 0, &partition, &offset));
  EXPECT(partition == 0 && offset >= 0);
  CHECK(strom_producer_flush(producer, -1));
  strom_producer_free(producer);

  /* The consumer config reuses bootstrap.servers; the producer-only acks must go. */
  strom_config_free(cfg);
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "bootstrap.servers", addr));
  CHECK(strom_config_set(cfg, "group.id", "c-tcp"));
  CHECK(strom_config_set(cfg, "auto.offset.reset", "earliest"));
  strom_consumer *consumer = NULL;
  CHECK(strom_consumer_new(cfg, &consumer));
  strom_config_free(cfg);
  const char *topics[] = {TOPIC};
  CHECK(strom_consumer_subscribe(consumer, topics, 1));
  int received = 0, empty_polls = 0;
  while (received < COUNT + 1 && empty_polls < 20) {
    strom_message *m = NULL;
    CHECK(strom_consumer_poll(consumer, 500, &m));
    if (m == NULL) {
      empty_polls++;
      continue;
    }
    size_t klen = 0, vlen = 0;
    const uint8_t *k = strom_message_key(m, &klen);
    const uint8_t *v = strom_message_value(m, &vlen);
    EXPECT(k != NULL && v != NULL);
    if (!(klen == 4 && memcmp(k, "last", 4) == 0)) {
      EXPECT(k[0] == 'k' && v[0] == 'v' && klen == vlen && memcmp(k + 1, v + 1, klen - 1) == 0);
    }
    strom_message_free(m);
    received++;
  }
  EXPECT(received == COUNT + 1);
  CHECK(strom_consumer_commit(consumer));
  strom_consumer_free(consumer);

  /* kcat (librdkafka) reads what the C producer wrote. */
  if (system("command -v kcat >/dev/null 2>&1") == 0) {
    char command[256];
    snprintf(command, sizeof command,
             "kcat -b %s -C -t %s -o beginning -e -q -f '%%k=%%s\\n' 2>/dev/null", addr, TOPIC);
    FILE *kcat = popen(command, "r");
    EXPECT(kcat != NULL);
    char line[128];
    int lines = 0;
    while (fgets(line, sizeof line, kcat) != NULL) {
      int a = -1, b = -2;
      if (strcmp(line, "last=done\n") != 0) {
        EXPECT(sscanf(line, "k%d=v%d", &a, &b) == 2 && a == b);
      }
      lines++;
    }
    EXPECT(pclose(kcat) == 0);
    EXPECT(lines == COUNT + 1);
    printf("kcat read %d records\n", lines);
  } else {
    printf("kcat not installed: skipped reading back with kcat\n");
  }

  CHECK(strom_broker_close(broker));
  strom_broker_free(broker);
  remove_tree(dir);
  printf("tcp_roundtrip: %d records over TCP\n", received);
  return 0;
}
