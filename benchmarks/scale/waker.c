/* One tenant of the node-scale benchmark: moves itself into the cgroups named on its command
 * line (a directory per hierarchy, the same relative path in each), says so with one byte on
 * stdout, then wakes once a second and spins about 20k iterations, like a mostly idle service.
 * It dies with its parent (PR_SET_PDEATHSIG), so a killed benchmark leaves no tenant behind. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1)
        return 1;
    for (int i = 1; i < argc; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/cgroup.procs", argv[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        /* "0" moves the writing task itself (kernel/cgroup/cgroup.c, cgroup_procs_write_start). */
        if (fd < 0 || write(fd, "0", 1) != 1) {
            perror(path);
            return 1;
        }
        close(fd);
    }
    if (write(STDOUT_FILENO, "+", 1) != 1)
        return 1;
    close(STDOUT_FILENO);

    volatile unsigned long sink = 0;
    struct timespec second = { 1, 0 };
    for (;;) {
        nanosleep(&second, NULL);
        for (int i = 0; i < 20000; i++)
            sink += (unsigned long)i * 2654435761u;
    }
}
