/* The measuring launcher of bench/bench.py: spawn REPORT PROGRAM [ARG...]
 *
 * Runs PROGRAM with the launcher's stdin, stdout and stderr, waits for it, and writes
 * "WALL_SECONDS MAXRSS_KB EXIT_CODE" to the file REPORT.
 *
 * Why not measure from Python: Linux copies the high-water RSS of the address space a
 * process exec()s from into its own peak RSS, and Python starts children with vfork, so
 * every child would report at least the driver's own 20-30 MiB. This launcher is small
 * and fork()s a copy of itself, so the floor is well under 1 MiB, and the wall time
 * excludes the driver's own spawning.
 *
 * The peak RSS is what wait4() reports: the largest of the process and every
 * descendant it waited for (for a shell script: its largest curl, jq or bash).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn REPORT PROGRAM [ARG...]\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("spawn: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("spawn: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("spawn: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *report = fopen(argv[1], "w");
    if (!report) {
        perror("spawn: report");
        return 2;
    }
    fprintf(report, "%.9f %ld %d\n", wall, ru.ru_maxrss, code);
    fclose(report);
    return code;
}
