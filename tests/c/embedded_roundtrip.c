/* Embedded broker round trip: a broker in a temporary directory, a topic, 1000 records sent
 * in-process (queued with send_async, plus synchronous sends with headers), read back by an
 * in-process consumer with the same bytes, and the topic listed by an in-process admin. */
#include "common.h"

#define TOPIC "roundtrip"
#define PARTITIONS 3
#define COUNT 1000

static void record_bytes(int i, char *key, size_t key_cap, char *value, size_t value_cap) {
  snprintf(key, key_cap, "key-%d", i);
  /* Values carry a NUL and high bytes, so the test proves lengths, not C strings. */
  int n = snprintf(value, value_cap, "value-%d-", i);
  value[n] = '\0';
  value[n + 1] = (char)0xff;
  value[n + 2] = (char)(i & 0xff);
}

static size_t value_len(int i) {
  char key[32], value[64];
  record_bytes(i, key, sizeof key, value, sizeof value);
  return strlen(value) + 3;
}

int main(void) {
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  printf("strom %s, data in %s\n", strom_version(), dir);

  strom_broker *broker = NULL;
  CHECK(strom_broker_open(dir, &broker));
  CHECK(strom_broker_create_topic(broker, TOPIC, PARTITIONS));

  strom_config *pcfg = NULL;
  CHECK(strom_config_new(&pcfg));
  CHECK(strom_config_set(pcfg, "linger.ms", "5"));
  CHECK(strom_config_set(pcfg, "compression.type", "lz4"));
  strom_producer *producer = NULL;
  CHECK(strom_producer_new_in_process(broker, pcfg, &producer));
  strom_config_free(pcfg);

  /* Record 0 synchronously, with headers (one with a null value). */
  char key[32], value[64];
  record_bytes(0, key, sizeof key, value, sizeof value);
  strom_header headers[2] = {
      {"trace-id", (const uint8_t *)"abc", 3},
      {"empty", NULL, 0},
  };
  int32_t partition = -1;
  int64_t offset = -1;
  CHECK(strom_producer_send(producer, TOPIC, 1, (const uint8_t *)key, strlen(key),
                            (const uint8_t *)value, value_len(0), headers, 2, &partition,
                            &offset));
  EXPECT(partition == 1 && offset == 0);

  /* The rest queued, then flushed. */
  for (int i = 1; i < COUNT; i++) {
    record_bytes(i, key, sizeof key, value, sizeof value);
    CHECK(strom_producer_send_async(producer, TOPIC, -1, (const uint8_t *)key, strlen(key),
                                    (const uint8_t *)value, value_len(i), NULL, 0));
  }
  CHECK(strom_producer_flush(producer, 30000));
  CHECK(strom_producer_close(producer));
  strom_producer_free(producer);

  /* Read everything back through a group, with the consumer group protocol (KIP-848; the
     classic one is behaviour.c's). */
  strom_config *ccfg = NULL;
  CHECK(strom_config_new(&ccfg));
  CHECK(strom_config_set(ccfg, "group.id", "c-roundtrip"));
  CHECK(strom_config_set(ccfg, "group.protocol", "consumer"));
  CHECK(strom_config_set(ccfg, "auto.offset.reset", "earliest"));
  strom_consumer *consumer = NULL;
  CHECK(strom_consumer_new_in_process(broker, ccfg, &consumer));
  strom_config_free(ccfg);
  const char *topics[] = {TOPIC};
  CHECK(strom_consumer_subscribe(consumer, topics, 1));

  static unsigned char seen[COUNT];
  int received = 0, empty_polls = 0;
  while (received < COUNT && empty_polls < 20) {
    strom_message *m = NULL;
    CHECK(strom_consumer_poll(consumer, 500, &m));
    if (m == NULL) {
      empty_polls++;
      continue;
    }
    EXPECT(strcmp(strom_message_topic(m), TOPIC) == 0);
    size_t klen = 0, vlen = 0;
    const uint8_t *k = strom_message_key(m, &klen);
    const uint8_t *v = strom_message_value(m, &vlen);
    EXPECT(k != NULL && v != NULL && klen > 4);
    int i = atoi((const char *)k + 4);
    EXPECT(i >= 0 && i < COUNT && !seen[i]);
    seen[i] = 1;
    record_bytes(i, key, sizeof key, value, sizeof value);
    EXPECT(klen == strlen(key) && memcmp(k, key, klen) == 0);
    EXPECT(vlen == value_len(i) && memcmp(v, value, vlen) == 0);
    EXPECT(strom_message_timestamp(m) > 0);
    if (i == 0) {
      EXPECT(strom_message_partition(m) == 1 && strom_message_offset(m) == 0);
      EXPECT(strom_message_header_count(m) == 2);
      const char *hkey = NULL;
      const uint8_t *hval = NULL;
      size_t hlen = 99;
      CHECK(strom_message_header(m, 0, &hkey, &hval, &hlen));
      EXPECT(strcmp(hkey, "trace-id") == 0 && hlen == 3 && memcmp(hval, "abc", 3) == 0);
      CHECK(strom_message_header(m, 1, &hkey, &hval, &hlen));
      EXPECT(strcmp(hkey, "empty") == 0 && hval == NULL && hlen == 0);
      EXPECT_ERR(strom_message_header(m, 2, &hkey, &hval, &hlen), STROM_ERR_INVALID_ARGUMENT,
                 "out of range");
    } else {
      EXPECT(strom_message_header_count(m) == 0);
    }
    strom_message_free(m);
    received++;
  }
  EXPECT(received == COUNT);
  CHECK(strom_consumer_commit(consumer));
  CHECK(strom_consumer_close(consumer));
  strom_consumer_free(consumer);

  /* The admin sees the topic (and not the internal offsets topic). */
  strom_admin *admin = NULL;
  CHECK(strom_admin_new_in_process(broker, NULL, &admin));
  strom_topic_list *list = NULL;
  CHECK(strom_admin_list_topics(admin, &list));
  EXPECT(strom_topic_list_count(list) == 1);
  EXPECT(strcmp(strom_topic_list_get(list, 0), TOPIC) == 0);
  EXPECT(strom_topic_list_get(list, 1) == NULL);
  strom_topic_list_free(list);
  strom_admin_free(admin);

  CHECK(strom_broker_close(broker));
  strom_broker_free(broker);
  remove_tree(dir);
  printf("embedded_roundtrip: %d records round-tripped\n", received);
  return 0;
}
