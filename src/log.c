/* Levelled logging. Lines look like Redis's: "pid:role dd Mon yyyy hh:mm:ss.mmm * text". */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int current_level = LOG_NOTICE;
static FILE *log_fp;

void log_set_level(int level) { current_level = level; }

int log_set_file(const char *path)
{
    if (path == NULL || *path == '\0') {
        if (log_fp && log_fp != stderr)
            fclose(log_fp);
        log_fp = NULL;
        return 0;
    }
    FILE *fp = fopen(path, "a");
    if (fp == NULL)
        return -1;
    setvbuf(fp, NULL, _IOLBF, 0);
    if (log_fp && log_fp != stderr)
        fclose(log_fp);
    log_fp = fp;
    return 0;
}

void log_write(int level, const char *fmt, ...)
{
    static const char marks[] = ".-*#";
    char tbuf[64];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (level < current_level)
        return;
    FILE *fp = log_fp ? log_fp : stderr;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(tbuf, sizeof(tbuf), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(tbuf + n, sizeof(tbuf) - n, "%03d", (int)(tv.tv_usec / 1000));
    fprintf(fp, "%d:M %s %c ", (int)getpid(), tbuf, marks[level & 3]);
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    fflush(fp);
}
