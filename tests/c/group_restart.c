/* Consumer group commit and restart: a consumer reads part of a topic and commits; a second
 * member of the group, after the broker itself was closed and reopened on the same
 * directory, resumes exactly after the commit. Also: seek, and a commit never covering
 * records the consumer fetched but C was not given yet. */
#include "common.h"

#define TOPIC "orders"
#define COUNT 100
#define FIRST 40

static strom_consumer *group_consumer(strom_broker *broker) {
  strom_config *cfg = NULL;
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "group.id", "c-restart"));
  CHECK(strom_config_set(cfg, "auto.offset.reset", "earliest"));
  CHECK(strom_config_set(cfg, "enable.auto.commit", "false"));
  strom_consumer *consumer = NULL;
  CHECK(strom_consumer_new_in_process(broker, cfg, &consumer));
  strom_config_free(cfg);
  const char *topics[] = {TOPIC};
  CHECK(strom_consumer_subscribe(consumer, topics, 1));
  return consumer;
}

/* The next record's offset (checking its value), or -1 when none came. */
static int64_t next_offset(strom_consumer *consumer) {
  for (int tries = 0; tries < 20; tries++) {
    strom_message *m = NULL;
    CHECK(strom_consumer_poll(consumer, 500, &m));
    if (m == NULL) {
      continue;
    }
    int64_t offset = strom_message_offset(m);
    size_t len = 0;
    const uint8_t *v = strom_message_value(m, &len);
    char expected[32];
    snprintf(expected, sizeof expected, "order-%d", (int)offset);
    EXPECT(len == strlen(expected) && memcmp(v, expected, len) == 0);
    strom_message_free(m);
    return offset;
  }
  return -1;
}

int main(void) {
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  strom_broker *broker = NULL;
  CHECK(strom_broker_open(dir, &broker));
  CHECK(strom_broker_create_topic(broker, TOPIC, 1));

  strom_producer *producer = NULL;
  CHECK(strom_producer_new_in_process(broker, NULL, &producer));
  for (int i = 0; i < COUNT; i++) {
    char value[32];
    snprintf(value, sizeof value, "order-%d", i);
    CHECK(strom_producer_send_async(producer, TOPIC, 0, NULL, 0, (const uint8_t *)value,
                                    strlen(value), NULL, 0));
  }
  CHECK(strom_producer_flush(producer, 30000));
  strom_producer_free(producer);

  /* First member: reads FIRST records (the whole topic is fetched in one go, so most of it
   * is held back from C), commits, leaves. */
  strom_consumer *consumer = group_consumer(broker);
  for (int i = 0; i < FIRST; i++) {
    EXPECT(next_offset(consumer) == i);
  }
  CHECK(strom_consumer_commit(consumer));
  /* The commit rewound the fetch position: reading goes on where C stopped. */
  EXPECT(next_offset(consumer) == FIRST);
  /* Seek back and forth. */
  CHECK(strom_consumer_seek(consumer, TOPIC, 0, 7));
  EXPECT(next_offset(consumer) == 7);
  CHECK(strom_consumer_seek(consumer, TOPIC, 0, FIRST));
  CHECK(strom_consumer_close(consumer));
  strom_consumer_free(consumer);

  /* Restart the broker on the same directory. */
  CHECK(strom_broker_close(broker));
  strom_broker_free(broker);
  broker = NULL;
  CHECK(strom_broker_open(dir, &broker));

  /* Second member: resumes at the committed offset and reads the rest. */
  consumer = group_consumer(broker);
  for (int i = FIRST; i < COUNT; i++) {
    EXPECT(next_offset(consumer) == i);
  }
  strom_message *m = NULL;
  CHECK(strom_consumer_poll(consumer, 200, &m));
  EXPECT(m == NULL);
  CHECK(strom_consumer_commit(consumer));
  strom_consumer_free(consumer);

  CHECK(strom_broker_close(broker));
  strom_broker_free(broker);
  remove_tree(dir);
  printf("group_restart: resumed at offset %d after commit and broker restart\n", FIRST);
  return 0;
}
