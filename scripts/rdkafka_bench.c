/* The librdkafka side of scripts/bench-client.sh (BENCHMARKS.md, "Client"): what
 * rdkafka_performance does, reduced to the two measurements compared there.
 *
 *   rdkafka_bench produce BOOTSTRAP TOPIC RECORDS SIZE COMPRESSION ACKS
 *   rdkafka_bench consume BOOTSTRAP TOPIC RECORDS PARTITIONS
 *
 * Prints one JSON line: {"client":"librdkafka","mode":...,"records":N,"seconds":S,...}.
 * Producer: linger.ms=5, batch.size=1048576 (the bench passes the same to strom's producer),
 * values copied by librdkafka (RD_KAFKA_MSG_F_COPY, as rdkafka_performance does by default).
 * Consumer: every partition assigned from the beginning, no group.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long delivered, failed;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    if (m->err) failed++; else delivered++;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static int produce(const char *bootstrap, const char *topic, long records, size_t size,
                   const char *compression, const char *acks) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "linger.ms", "5");
    set(conf, "batch.size", "1048576");
    set(conf, "compression.codec", compression);
    set(conf, "acks", acks);
    set(conf, "queue.buffering.max.messages", "1000000");
    set(conf, "queue.buffering.max.kbytes", "1048576");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 2; }
    char *value = malloc(size);
    memset(value, 'x', size);
    double start = now();
    for (long i = 0; i < records;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(value, size),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) { rd_kafka_poll(rk, 1); continue; }
        if (e) { fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e)); return 1; }
        i++;
        if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double seconds = now() - start;
    printf("{\"client\":\"librdkafka\",\"mode\":\"produce\",\"records\":%ld,\"seconds\":%.4f,"
           "\"records_per_sec\":%.0f,\"errors\":%ld,\"version\":\"%s\"}\n",
           delivered, seconds, delivered / seconds, failed + (records - delivered - failed),
           rd_kafka_version_str());
    rd_kafka_destroy(rk);
    free(value);
    return failed ? 1 : 0;
}

static int consume(const char *bootstrap, const char *topic, long records, int partitions) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", "rdkafka-bench");
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.partition.eof", "false");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 2; }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    long got = 0;
    double start = 0, last = now();
    while (got < records && now() - last < 10) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m) continue;
        if (!m->err) {
            if (got == 0) start = now();
            got++;
            last = now();
        }
        rd_kafka_message_destroy(m);
    }
    double seconds = now() - start;
    printf("{\"client\":\"librdkafka\",\"mode\":\"consume\",\"records\":%ld,\"seconds\":%.4f,"
           "\"records_per_sec\":%.0f,\"errors\":%ld,\"version\":\"%s\"}\n",
           got, seconds, got / seconds, records - got, rd_kafka_version_str());
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got == records ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "produce"))
        return produce(argv[2], argv[3], atol(argv[4]), (size_t)atol(argv[5]), argv[6], argv[7]);
    if (argc == 6 && !strcmp(argv[1], "consume"))
        return consume(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: rdkafka_bench produce BOOTSTRAP TOPIC RECORDS SIZE COMPRESSION ACKS\n"
                    "       rdkafka_bench consume BOOTSTRAP TOPIC RECORDS PARTITIONS\n");
    return 2;
}
