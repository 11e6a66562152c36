/* Every error path returns its documented code, leaves outputs untouched and explains itself
 * in strom_last_error(): NULL handles and arguments, bad strings, unknown and bad configs,
 * unknown topics, use after close, state errors, a second broker on one directory. */
#include "common.h"

#define SENTINEL ((void *)0x1)

int main(void) {
  char dir[256];
  make_temp_dir(dir, sizeof dir);

  /* No error yet on this thread: an empty message, never NULL. */
  EXPECT(strom_last_error() != NULL && strom_last_error()[0] == '\0');
  EXPECT(strcmp(strom_result_name(STROM_ERR_CONFIG), "STROM_ERR_CONFIG") == 0);
  EXPECT(strcmp(strom_result_name(12345), "STROM_ERR_UNKNOWN") == 0);

  /* NULL handles, NULL outputs, NULL strings. */
  EXPECT_ERR(strom_broker_open(NULL, NULL), STROM_ERR_INVALID_ARGUMENT, "dir is NULL");
  EXPECT_ERR(strom_broker_create_topic(NULL, "t", 1), STROM_ERR_INVALID_ARGUMENT,
             "broker is NULL");
  EXPECT_ERR(strom_producer_send(NULL, "t", -1, NULL, 0, NULL, 0, NULL, 0, NULL, NULL),
             STROM_ERR_INVALID_ARGUMENT, "producer is NULL");
  EXPECT_ERR(strom_producer_flush(NULL, 0), STROM_ERR_INVALID_ARGUMENT, "producer is NULL");
  EXPECT_ERR(strom_consumer_poll(NULL, 0, NULL), STROM_ERR_INVALID_ARGUMENT,
             "consumer is NULL");
  EXPECT_ERR(strom_consumer_commit(NULL), STROM_ERR_INVALID_ARGUMENT, "consumer is NULL");
  EXPECT_ERR(strom_admin_create_topic(NULL, "t", 1), STROM_ERR_INVALID_ARGUMENT,
             "admin is NULL");
  EXPECT_ERR(strom_config_new(NULL), STROM_ERR_INVALID_ARGUMENT, "out is NULL");
  EXPECT_ERR(strom_message_header(NULL, 0, NULL, NULL, NULL), STROM_ERR_INVALID_ARGUMENT,
             "message is NULL");
  /* Accessors and frees take NULL quietly. */
  EXPECT(strom_message_topic(NULL) == NULL && strom_message_offset(NULL) == -1);
  size_t len = 7;
  EXPECT(strom_message_key(NULL, &len) == NULL && len == 0);
  EXPECT(strom_topic_list_count(NULL) == 0 && strom_topic_list_get(NULL, 0) == NULL);
  strom_broker_free(NULL);
  strom_producer_free(NULL);
  strom_consumer_free(NULL);
  strom_admin_free(NULL);
  strom_config_free(NULL);
  strom_message_free(NULL);
  strom_topic_list_free(NULL);

  /* Success clears the last error. */
  strom_config *cfg = NULL;
  CHECK(strom_config_new(&cfg));
  EXPECT(strom_last_error()[0] == '\0' && strom_last_kafka_code() == 0);
  EXPECT_ERR(strom_config_set(cfg, "linger.ms", NULL), STROM_ERR_INVALID_ARGUMENT,
             "value is NULL");
  EXPECT_ERR(strom_config_set(cfg, "\xff\xfe", "1"), STROM_ERR_INVALID_ARGUMENT,
             "name is not valid UTF-8");

  strom_broker *broker = NULL;
  CHECK(strom_broker_open(dir, &broker));
  CHECK(strom_broker_create_topic(broker, "t", 2));
  EXPECT_ERR(strom_broker_create_topic(broker, "t", 2), STROM_ERR_KAFKA, "already exists");
  EXPECT(strom_last_kafka_code() == 36);
  EXPECT_ERR(strom_broker_create_topic(broker, "u", 0), STROM_ERR_INVALID_ARGUMENT,
             "partitions");
  EXPECT_ERR(strom_broker_create_topic(broker, "bad/name", 1), STROM_ERR_KAFKA,
             "invalid topic name");

  /* One broker per directory: outputs stay untouched on failure. */
  strom_broker *second = SENTINEL;
  EXPECT_ERR(strom_broker_open(dir, &second), STROM_ERR_IO, "in use");
  EXPECT(second == SENTINEL);

  /* The address buffer must fit; a listener that cannot report its address is closed. */
  char small[4] = "xyz";
  EXPECT_ERR(strom_broker_serve(broker, "127.0.0.1:0", small, sizeof small),
             STROM_ERR_INVALID_ARGUMENT, "addr_cap");
  EXPECT(strcmp(small, "xyz") == 0);
  EXPECT_ERR(strom_broker_serve(broker, "no-such-host.invalid:0", NULL, 0), STROM_ERR_IO,
             "cannot listen on no-such-host.invalid:0");

  /* An unknown config name: STROM_ERR_CONFIG naming it, code 40 (INVALID_CONFIG). */
  CHECK(strom_config_set(cfg, "linger.msec", "5"));
  strom_producer *producer = SENTINEL;
  EXPECT_ERR(strom_producer_new_in_process(broker, cfg, &producer), STROM_ERR_CONFIG,
             "linger.msec");
  EXPECT(strom_last_kafka_code() == 40 && producer == SENTINEL);
  strom_config_free(cfg);
  /* A bad value names the setting too. */
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "acks", "most"));
  EXPECT_ERR(strom_producer_new_in_process(broker, cfg, &producer), STROM_ERR_CONFIG, "acks");
  strom_config_free(cfg);
  /* No bootstrap.servers for a network producer. */
  EXPECT_ERR(strom_producer_new(NULL, &producer), STROM_ERR_CONFIG, "bootstrap.servers");
  strom_consumer *consumer = SENTINEL;
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "group.idd", "g"));
  EXPECT_ERR(strom_consumer_new_in_process(broker, cfg, &consumer), STROM_ERR_CONFIG,
             "group.idd");
  EXPECT(consumer == SENTINEL);
  strom_config_free(cfg);

  /* Sending: bad arguments, an unknown topic (auto-creation off), a closed producer. */
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "max.block.ms", "2000"));
  CHECK(strom_producer_new_in_process(broker, cfg, &producer));
  strom_config_free(cfg);
  EXPECT_ERR(strom_producer_send(producer, NULL, -1, NULL, 0, NULL, 0, NULL, 0, NULL, NULL),
             STROM_ERR_INVALID_ARGUMENT, "topic is NULL");
  EXPECT_ERR(strom_producer_send(producer, "t", -1, NULL, 3, NULL, 0, NULL, 0, NULL, NULL),
             STROM_ERR_INVALID_ARGUMENT, "key is NULL but its length is 3");
  EXPECT_ERR(strom_producer_send(producer, "t", -7, NULL, 0, NULL, 0, NULL, 0, NULL, NULL),
             STROM_ERR_INVALID_ARGUMENT, "partition");
  strom_header bad_header = {NULL, NULL, 0};
  EXPECT_ERR(strom_producer_send(producer, "t", -1, NULL, 0, NULL, 0, &bad_header, 1, NULL,
                                 NULL),
             STROM_ERR_INVALID_ARGUMENT, "headers[0].key is NULL");
  EXPECT_ERR(strom_producer_send(producer, "t", 5, NULL, 0, (const uint8_t *)"v", 1, NULL, 0,
                                 NULL, NULL),
             STROM_ERR_KAFKA, NULL);
  EXPECT(strom_last_kafka_code() == 3);
  int32_t partition = -5;
  int64_t offset = -5;
  CHECK(strom_producer_send(producer, "t", -1, NULL, 0, (const uint8_t *)"v", 1, NULL, 0,
                            &partition, &offset));
  EXPECT(partition >= 0 && partition < 2 && offset == 0);
  EXPECT_ERR(strom_producer_flush(producer, -2), STROM_ERR_INVALID_ARGUMENT, "timeout_ms");
  CHECK(strom_producer_close(producer));
  CHECK(strom_producer_close(producer));
  partition = -5;
  EXPECT_ERR(strom_producer_send(producer, "t", -1, NULL, 0, (const uint8_t *)"v", 1, NULL, 0,
                                 &partition, NULL),
             STROM_ERR_CLOSED, "closed");
  EXPECT(partition == -5);
  EXPECT_ERR(strom_producer_send_async(producer, "t", -1, NULL, 0, NULL, 0, NULL, 0),
             STROM_ERR_CLOSED, "producer is closed");
  strom_producer_free(producer);

  /* Consumer state errors and use after close. */
  CHECK(strom_consumer_new_in_process(broker, NULL, &consumer));
  strom_message *message = SENTINEL;
  EXPECT_ERR(strom_consumer_poll(consumer, 0, &message), STROM_ERR_STATE, "subscribe or assign");
  EXPECT(message == SENTINEL);
  const char *topics[] = {"t"};
  EXPECT_ERR(strom_consumer_subscribe(consumer, topics, 1), STROM_ERR_STATE, "group.id");
  EXPECT_ERR(strom_consumer_subscribe(consumer, NULL, 1), STROM_ERR_INVALID_ARGUMENT,
             "topics is NULL");
  const char *null_topic[] = {NULL};
  int32_t partitions[] = {0};
  EXPECT_ERR(strom_consumer_assign(consumer, null_topic, partitions, 1),
             STROM_ERR_INVALID_ARGUMENT, "topics[0] is NULL");
  EXPECT_ERR(strom_consumer_seek(consumer, "t", 0, 0), STROM_ERR_STATE, "not assigned");
  CHECK(strom_consumer_assign(consumer, topics, partitions, 1));
  EXPECT_ERR(strom_consumer_commit(consumer), STROM_ERR_STATE, "group.id");
  CHECK(strom_consumer_close(consumer));
  EXPECT_ERR(strom_consumer_poll(consumer, 0, &message), STROM_ERR_CLOSED, "consumer is closed");
  strom_consumer_free(consumer);

  /* Admin: an unknown topic, a duplicate. */
  strom_admin *admin = NULL;
  CHECK(strom_admin_new_in_process(broker, NULL, &admin));
  EXPECT_ERR(strom_admin_delete_topic(admin, "nope"), STROM_ERR_KAFKA,
             "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT(strom_last_kafka_code() == 3);
  EXPECT_ERR(strom_admin_create_topic(admin, "t", 1), STROM_ERR_KAFKA, "TOPIC_ALREADY_EXISTS");
  EXPECT(strom_last_kafka_code() == 36);
  strom_admin_free(admin);

  /* A closed broker refuses in-process clients and topics; closing twice is fine. */
  CHECK(strom_broker_close(broker));
  CHECK(strom_broker_close(broker));
  EXPECT_ERR(strom_broker_create_topic(broker, "v", 1), STROM_ERR_CLOSED, "closed");
  EXPECT_ERR(strom_producer_new_in_process(broker, NULL, &producer), STROM_ERR_CLOSED,
             "closed");
  EXPECT_ERR(strom_broker_serve(broker, "127.0.0.1:0", NULL, 0), STROM_ERR_CLOSED, "closed");
  strom_broker_free(broker);

  /* Nothing listens on port 1: a network admin fails to connect. */
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "bootstrap.servers", "127.0.0.1:1"));
  CHECK(strom_config_set(cfg, "default.api.timeout.ms", "1500"));
  CHECK(strom_config_set(cfg, "socket.connection.setup.timeout.ms", "500"));
  admin = SENTINEL;
  strom_result rc = strom_admin_new(cfg, &admin);
  EXPECT(rc == STROM_ERR_NETWORK || rc == STROM_ERR_TIMEOUT);
  EXPECT(admin == SENTINEL && strom_last_error()[0] != '\0');
  strom_config_free(cfg);

  remove_tree(dir);
  printf("errors: every error path returned its documented code\n");
  return 0;
}
