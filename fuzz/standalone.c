/* A driver for the fuzz targets without libFuzzer: calls LLVMFuzzerTestOneInput once for each
 * file named, or for each regular file of each directory named, and fails when a directory
 * holds none (an empty corpus tests nothing). A crash is the test's failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = file_read_all(&data, &len, path, (size_t)64 << 20);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(rc));
        return 1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    int failed = 0;
    size_t runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: no such file or directory\n", argv[i]);
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]);
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        size_t here = 0;
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            failed |= run_file(path);
            here++;
        }
        if (d)
            closedir(d);
        if (here == 0) {
            fprintf(stderr, "%s: no inputs\n", argv[i]);
            failed = 1;
        }
        runs += here;
    }
    printf("%zu input(s) replayed\n", runs);
    return failed;
}
