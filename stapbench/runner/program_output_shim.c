/* LD_PRELOAD shim that gives stap's `-c` program a terminal of its own.
 *
 * stap starts its -c program itself (stapbpf or stapio forks it), and the
 * program inherits stap's stdout and stderr: its own output would arrive
 * mixed into probe output and stap's messages, and be counted as probe hits.
 * stapbench cannot redirect it from outside without a shell or a wrapper (a
 * wrapper would change what stap's pathless process.function() resolves to),
 * so the runner preloads this shim into stap and names the program's
 * executable and a pty slave in the environment.  In the one process whose
 * /proc/self/exe is that executable, before main(), fds 1 and 2 are pointed
 * at that pty (a terminal: the program keeps its line buffering); everywhere
 * else (stap, its compilers, stapbpf, stapio) the shim does nothing.
 * .ci/provision builds it into /usr/local/lib/stapbench/program_output_shim.so. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void stapbench_program_output(void)
{
    const char *exe = getenv("STAPBENCH_PROGRAM_EXE");
    const char *out = getenv("STAPBENCH_PROGRAM_OUTPUT");
    char self[PATH_MAX];
    ssize_t n;
    int fd;

    if (!exe || !out)
        return;
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return;
    self[n] = '\0';
    if (strcmp(self, exe) != 0)
        return;
    fd = open(out, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    /* once: what the program starts writes where it writes, by inheritance */
    unsetenv("STAPBENCH_PROGRAM_EXE");
    unsetenv("STAPBENCH_PROGRAM_OUTPUT");
}
