/* Levelled logging to stderr or a file, with Redis-like line prefixes. */
#ifndef CONCORDKV_LOG_H
#define CONCORDKV_LOG_H

enum log_level { LOG_DEBUG, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

void log_set_level(int level);
/* Log to PATH (appending), or stderr for NULL or "". Returns 0, or -1 with errno set. */
int log_set_file(const char *path);
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_write(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_write(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_write(LOG_WARNING, __VA_ARGS__)

#endif
