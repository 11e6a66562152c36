/* fork(): a child refuses the parent's handles (STROM_ERR_STATE) but makes its own, on a
 * runtime of its own; the parent's handles keep working. */
#include "common.h"

#include <sys/wait.h>

static void round_trip(strom_broker *broker, const char *topic) {
  strom_producer *producer = NULL;
  CHECK(strom_producer_new_in_process(broker, NULL, &producer));
  int32_t partition = -1;
  int64_t offset = -1;
  CHECK(strom_producer_send(producer, topic, 0, NULL, 0, (const uint8_t *)"hello", 5, NULL, 0,
                            &partition, &offset));
  strom_producer_free(producer);

  strom_config *cfg = NULL;
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "auto.offset.reset", "earliest"));
  strom_consumer *consumer = NULL;
  CHECK(strom_consumer_new_in_process(broker, cfg, &consumer));
  strom_config_free(cfg);
  const char *topics[] = {topic};
  int32_t partitions[] = {0};
  CHECK(strom_consumer_assign(consumer, topics, partitions, 1));
  CHECK(strom_consumer_seek(consumer, topic, 0, offset));
  strom_message *m = NULL;
  CHECK(strom_consumer_poll(consumer, 5000, &m));
  EXPECT(m != NULL);
  size_t len = 0;
  const uint8_t *v = strom_message_value(m, &len);
  EXPECT(len == 5 && memcmp(v, "hello", 5) == 0);
  strom_message_free(m);
  strom_consumer_free(consumer);
}

int main(void) {
  char dir[256], child_dir[256];
  make_temp_dir(dir, sizeof dir);
  make_temp_dir(child_dir, sizeof child_dir);

  strom_broker *broker = NULL;
  CHECK(strom_broker_open(dir, &broker));
  CHECK(strom_broker_create_topic(broker, "t", 1));
  round_trip(broker, "t");

  fflush(stdout);
  pid_t pid = fork();
  EXPECT(pid >= 0);
  if (pid == 0) {
    EXPECT_ERR(strom_broker_create_topic(broker, "u", 1), STROM_ERR_STATE, "fork");
    strom_producer *producer = NULL;
    EXPECT_ERR(strom_producer_new_in_process(broker, NULL, &producer), STROM_ERR_STATE, "fork");
    /* Releases nothing: the parent still owns the broker's files. */
    strom_broker_free(broker);

    strom_broker *own = NULL;
    CHECK(strom_broker_open(child_dir, &own));
    CHECK(strom_broker_create_topic(own, "c", 1));
    round_trip(own, "c");
    strom_broker_free(own);
    /* The parent's runtime is leaked on purpose in the child: skip leak checks there. */
    _exit(0);
  }
  int status = 0;
  EXPECT(waitpid(pid, &status, 0) == pid);
  EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  /* The parent is unaffected. */
  round_trip(broker, "t");
  strom_broker_free(broker);
  remove_tree(dir);
  remove_tree(child_dir);
  printf("fork: the child made its own handles; the parent's kept working\n");
  return 0;
}
