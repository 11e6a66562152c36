/* Helpers shared by the C tests: checks that print strom_last_error() and a temporary
 * directory for an embedded broker. */
#ifndef STROM_TEST_COMMON_H
#define STROM_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

#include "strom.h"

/* A call that must succeed. */
#define CHECK(call)                                                                    \
  do {                                                                                 \
    strom_result check_rc_ = (call);                                                   \
    if (check_rc_ != STROM_OK) {                                                       \
      fprintf(stderr, "%s:%d: %s failed: %s: %s (kafka code %d)\n", __FILE__, __LINE__, \
              #call, strom_result_name(check_rc_), strom_last_error(),                 \
              (int)strom_last_kafka_code());                                           \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

/* A condition that must hold. */
#define EXPECT(cond)                                                        \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);   \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* A call that must fail with `code` and a last error containing `needle` (NULL: any). */
#define EXPECT_ERR(call, code, needle)                                                  \
  do {                                                                                  \
    strom_result expect_rc_ = (call);                                                   \
    const char *expect_msg_ = strom_last_error();                                       \
    const char *expect_needle_ = (needle);                                              \
    if (expect_rc_ != (code) ||                                                         \
        (expect_needle_ != NULL && strstr(expect_msg_, expect_needle_) == NULL)) {      \
      fprintf(stderr, "%s:%d: %s returned %s (\"%s\"), expected %s with \"%s\"\n",       \
              __FILE__, __LINE__, #call, strom_result_name(expect_rc_), expect_msg_,    \
              strom_result_name(code), expect_needle_ ? expect_needle_ : "");           \
      exit(1);                                                                          \
    }                                                                                   \
  } while (0)

static inline int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Makes a fresh temporary directory; its path is written into `buf`. */
static inline void make_temp_dir(char *buf, size_t cap) {
  const char *base = getenv("TMPDIR");
  snprintf(buf, cap, "%s/strom-c-test-XXXXXX", base && *base ? base : "/tmp");
  if (mkdtemp(buf) == NULL) {
    perror("mkdtemp");
    exit(1);
  }
}

/* Removes a directory tree made by make_temp_dir. */
static inline void remove_tree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
