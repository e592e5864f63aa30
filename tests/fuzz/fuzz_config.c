/* Fuzz target: config file parsing (config_load_file in src/config.c) on the input as a
 * file's text, then CONFIG GET * of whatever loaded. Checks: no crash, leak or overflow;
 * a failed load says why. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    struct config cfg;
    char err[1024] = "";
    struct buf out;

    if (size > 64 * 1024)
        return 0;
    if (fd < 0) {
        fd = memfd_create("fuzz-config", 0);
        FUZZ_CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    config_init(&cfg);
    if (config_load_file(&cfg, path, err, sizeof(err)) != 0)
        FUZZ_CHECK(err[0] != '\0');
    buf_init(&out);
    config_get(&cfg, "*", 1, &out);
    buf_close(&out);
    config_close(&cfg);
    return 0;
}
