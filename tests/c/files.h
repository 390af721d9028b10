/*
 * Temporary directories and files for the C test programs (include after
 * check.h; the program defines _POSIX_C_SOURCE first).
 */
#ifndef SIPSIMPLE_TEST_FILES_H
#define SIPSIMPLE_TEST_FILES_H

#include "check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new directory under $TMPDIR (or /tmp); its path goes to `out`. */
static inline void make_temp_dir(char *out, size_t size) {
    const char *base = getenv("TMPDIR");
    snprintf(out, size, "%s/sipsimple-c-XXXXXX", base != NULL && *base != '\0' ? base : "/tmp");
    REQUIRE(mkdtemp(out) != NULL);
}

static inline void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fputs(text, f) >= 0);
    REQUIRE(fclose(f) == 0);
}

/* Removes `dir` and everything in it. */
static inline void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

#endif
