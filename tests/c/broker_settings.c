/* An embedded broker opened with settings by Kafka's broker names (strom_broker_open_with):
 * num.partitions shapes topics created without a count, auto.create.topics.enable=false
 * refuses writes to a missing topic, and an unknown name or a bad value is STROM_ERR_CONFIG
 * naming the setting. The same names strom serve, Python and Node take. */
#include "common.h"

int main(void) {
  char dir[256];
  make_temp_dir(dir, sizeof dir);

  strom_config *settings = NULL;
  CHECK(strom_config_new(&settings));
  CHECK(strom_config_set(settings, "log.retention.hour", "1"));
  strom_broker *broker = (strom_broker *)0x1;
  EXPECT_ERR(strom_broker_open_with(dir, settings, &broker), STROM_ERR_CONFIG,
             "log.retention.hour");
  EXPECT(broker == (strom_broker *)0x1);
  strom_config_free(settings);

  CHECK(strom_config_new(&settings));
  CHECK(strom_config_set(settings, "num.partitions", "zero"));
  EXPECT_ERR(strom_broker_open_with(dir, settings, &broker), STROM_ERR_CONFIG,
             "num.partitions");
  CHECK(strom_config_set(settings, "num.partitions", "3"));
  CHECK(strom_config_set(settings, "auto.create.topics.enable", "false"));
  CHECK(strom_config_set(settings, "group.initial.rebalance.delay.ms", "0"));
  CHECK(strom_broker_open_with(dir, settings, &broker));
  strom_config_free(settings);

  CHECK(strom_broker_create_topic(broker, "three", -1));
  strom_config *pcfg = NULL;
  CHECK(strom_config_new(&pcfg));
  CHECK(strom_config_set(pcfg, "max.block.ms", "3000"));
  strom_producer *producer = NULL;
  CHECK(strom_producer_new_in_process(broker, pcfg, &producer));
  strom_config_free(pcfg);
  int32_t partition = -1;
  int64_t offset = -1;
  CHECK(strom_producer_send(producer, "three", 2, NULL, 0, (const uint8_t *)"v", 1, NULL, 0,
                            &partition, &offset));
  EXPECT(partition == 2 && offset == 0);
  /* auto.create.topics.enable=false: no topic appears for a write. */
  strom_result rc = strom_producer_send(producer, "missing", -1, NULL, 0, (const uint8_t *)"v",
                                        1, NULL, 0, NULL, NULL);
  EXPECT(rc != STROM_OK);
  strom_admin *admin = NULL;
  CHECK(strom_admin_new_in_process(broker, NULL, &admin));
  strom_topic_list *topics = NULL;
  CHECK(strom_admin_list_topics(admin, &topics));
  for (size_t i = 0; i < strom_topic_list_count(topics); i++) {
    EXPECT(strcmp(strom_topic_list_get(topics, i), "missing") != 0);
  }
  strom_topic_list_free(topics);
  strom_admin_free(admin);

  strom_producer_free(producer);
  CHECK(strom_broker_close(broker));
  strom_broker_free(broker);
  remove_tree(dir);
  printf("broker settings by Kafka name: ok\n");
  return 0;
}
