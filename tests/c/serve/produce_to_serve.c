/* A C producer into a running `strom serve` process (not an embedded broker): run.sh starts
 * the binary, passes its address as argv[1] and a topic as argv[2], and reads the records
 * back with kcat. Sends COUNT records "k<i>" -> "v<i>" with a header, then flushes. */
#include "../common.h"

#define COUNT 300

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: produce_to_serve BOOTSTRAP TOPIC\n");
    return 2;
  }
  strom_config *cfg = NULL;
  CHECK(strom_config_new(&cfg));
  CHECK(strom_config_set(cfg, "bootstrap.servers", argv[1]));
  CHECK(strom_config_set(cfg, "compression.type", "zstd"));
  strom_producer *producer = NULL;
  CHECK(strom_producer_new(cfg, &producer));
  strom_header header = {.key = "origin", .value = (const uint8_t *)"c", .value_len = 1};
  char key[32], value[32];
  for (int i = 0; i < COUNT; i++) {
    snprintf(key, sizeof key, "k%d", i);
    snprintf(value, sizeof value, "v%d", i);
    CHECK(strom_producer_send_async(producer, argv[2], -1, (const uint8_t *)key, strlen(key),
                                    (const uint8_t *)value, strlen(value), &header, 1));
  }
  CHECK(strom_producer_flush(producer, -1));
  strom_producer_free(producer);
  strom_config_free(cfg);
  printf("produce_to_serve: %d records to %s on %s\n", COUNT, argv[2], argv[1]);
  return 0;
}
