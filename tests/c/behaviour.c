/* The cross-language behaviour list (tests/behaviour/README.md), in C: the same scenarios run
 * in Rust, Python and Node against the same core. */
#include "common.h"

#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes `count` records ("0", "1", ...) to each of `partitions` of a new topic. */
static void fill(strom_broker *broker, const char *topic, int32_t partitions, int count) {
  CHECK(strom_broker_create_topic(broker, topic, partitions));
  strom_producer *producer = NULL;
  CHECK(strom_producer_new_in_process(broker, NULL, &producer));
  for (int32_t p = 0; p < partitions; p++) {
    for (int i = 0; i < count; i++) {
      char value[16];
      int len = snprintf(value, sizeof value, "%d", i);
      CHECK(strom_producer_send(producer, topic, p, NULL, 0, (const uint8_t *)value,
                                (size_t)len, NULL, 0, NULL, NULL));
    }
  }
  strom_producer_free(producer);
}

static strom_consumer *group_consumer(strom_broker *broker, const char *group, const char *topic) {
  strom_config *cfg = NULL;
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "group.id", group));
  CHECK(strom_config_set(cfg, "auto.offset.reset", "earliest"));
  CHECK(strom_config_set(cfg, "enable.auto.commit", "false"));
  strom_consumer *consumer = NULL;
  CHECK(strom_consumer_new_in_process(broker, cfg, &consumer));
  strom_config_free(cfg);
  const char *topics[] = {topic};
  CHECK(strom_consumer_subscribe(consumer, topics, 1));
  return consumer;
}

/* Polls until a record comes (20 s at most); NULL when none did. */
static strom_message *next_record(strom_consumer *consumer) {
  double deadline = now_s() + 20;
  while (now_s() < deadline) {
    strom_message *m = NULL;
    CHECK(strom_consumer_poll(consumer, 200, &m));
    if (m != NULL) return m;
  }
  return NULL;
}

static void b1_settings_by_kafka_name(strom_broker *broker, const char *dir) {
  CHECK(strom_broker_create_topic(broker, "b1", -1));
  /* Three partitions: a send to partition 2 works, to partition 3 does not. */
  strom_producer *producer = NULL;
  strom_config *pcfg = NULL;
  CHECK(strom_config_new(&pcfg));
  CHECK(strom_config_set(pcfg, "max.block.ms", "2000"));
  CHECK(strom_config_set(pcfg, "delivery.timeout.ms", "2000"));
  CHECK(strom_config_set(pcfg, "request.timeout.ms", "1000"));
  CHECK(strom_producer_new_in_process(broker, pcfg, &producer));
  strom_config_free(pcfg);
  CHECK(strom_producer_send(producer, "b1", 2, NULL, 0, (const uint8_t *)"v", 1, NULL, 0, NULL,
                            NULL));
  EXPECT(strom_producer_send(producer, "b1", 3, NULL, 0, (const uint8_t *)"v", 1, NULL, 0, NULL,
                             NULL) != STROM_OK);
  strom_producer_free(producer);

  char other[512];
  snprintf(other, sizeof other, "%s/other", dir);
  strom_config *settings = NULL;
  CHECK(strom_config_new(&settings));
  CHECK(strom_config_set(settings, "log.retention.hour", "1"));
  strom_broker *refused = NULL;
  EXPECT_ERR(strom_broker_open_with(other, settings, &refused), STROM_ERR_CONFIG,
             "log.retention.hour");
  strom_config_free(settings);
  printf("B1 settings by Kafka name: ok\n");
}

static void b2_seek_before_assignment(strom_broker *broker) {
  fill(broker, "b2", 1, 10);
  strom_consumer *consumer = group_consumer(broker, "g-b2", "b2");
  CHECK(strom_consumer_seek(consumer, "b2", 0, 6));
  strom_message *m = next_record(consumer);
  EXPECT(m != NULL);
  EXPECT(strom_message_offset(m) == 6);
  strom_message_free(m);
  strom_consumer_free(consumer);
  printf("B2 seek before assignment: ok\n");
}

static void b3_pause_and_resume(strom_broker *broker) {
  fill(broker, "b3", 2, 5);
  strom_consumer *consumer = group_consumer(broker, "g-b3", "b3");
  const char *topics[] = {"b3"};
  int32_t p0[] = {0};
  CHECK(strom_consumer_pause(consumer, topics, p0, 1));
  int seen[2][5] = {{0}};
  for (int i = 0; i < 5; i++) {
    strom_message *m = next_record(consumer);
    EXPECT(m != NULL);
    EXPECT(strom_message_partition(m) == 1);
    int64_t o = strom_message_offset(m);
    EXPECT(o >= 0 && o < 5);
    seen[1][o]++;
    strom_message_free(m);
  }
  strom_message *none = NULL;
  CHECK(strom_consumer_poll(consumer, 500, &none));
  EXPECT(none == NULL);
  CHECK(strom_consumer_resume(consumer, topics, p0, 1));
  for (int i = 0; i < 5; i++) {
    strom_message *m = next_record(consumer);
    EXPECT(m != NULL);
    EXPECT(strom_message_partition(m) == 0);
    EXPECT(strom_message_offset(m) == i);
    seen[0][i]++;
    strom_message_free(m);
  }
  for (int p = 0; p < 2; p++) {
    for (int o = 0; o < 5; o++) EXPECT(seen[p][o] == 1);
  }
  strom_consumer_free(consumer);
  printf("B3 pause and resume: ok\n");
}

static void b4_commit_after_partial_consumption(strom_broker *broker) {
  fill(broker, "b4", 1, 10);
  strom_consumer *consumer = group_consumer(broker, "g-b4", "b4");
  for (int i = 0; i < 3; i++) {
    strom_message *m = next_record(consumer);
    EXPECT(m != NULL);
    EXPECT(strom_message_offset(m) == i);
    strom_message_free(m);
  }
  CHECK(strom_consumer_commit(consumer));
  CHECK(strom_consumer_close(consumer));
  strom_consumer_free(consumer);

  strom_consumer *next = group_consumer(broker, "g-b4", "b4");
  strom_message *m = next_record(next);
  EXPECT(m != NULL);
  EXPECT(strom_message_offset(m) == 3);
  strom_message_free(m);
  strom_consumer_free(next);
  printf("B4 commit after partial consumption: ok\n");
}

static void b5_same_refusal_same_error(strom_broker *broker) {
  CHECK(strom_broker_create_topic(broker, "b5", 1));
  EXPECT_ERR(strom_broker_create_topic(broker, "b5", 1), STROM_ERR_KAFKA, "b5");
  EXPECT(strom_last_kafka_code() == 36);
  printf("B5 same refusal, same error: ok\n");
}

int main(void) {
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  char data[512];
  snprintf(data, sizeof data, "%s/data", dir);
  strom_config *settings = NULL;
  CHECK(strom_config_new(&settings));
  CHECK(strom_config_set(settings, "num.partitions", "3"));
  CHECK(strom_config_set(settings, "group.initial.rebalance.delay.ms", "0"));
  strom_broker *broker = NULL;
  CHECK(strom_broker_open_with(data, settings, &broker));
  strom_config_free(settings);

  b1_settings_by_kafka_name(broker, dir);
  b2_seek_before_assignment(broker);
  b3_pause_and_resume(broker);
  b4_commit_after_partial_consumption(broker);
  b5_same_refusal_same_error(broker);

  CHECK(strom_broker_close(broker));
  strom_broker_free(broker);
  remove_tree(dir);
  return 0;
}
