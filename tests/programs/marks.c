/* A program with SDT markers (sys/sdt.h, Debian's systemtap-sdt-dev) and debuginfo, for the
 * probe browser's markers: where a marker is (its ELF note's address -> function, file:line). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

__attribute__((noinline)) long serve(long request, int status)
{
    DTRACE_PROBE2(demo, request__start, request, status);
    long cost = request * 3 + status;
    DTRACE_PROBE1(demo, request__done, cost);
    return cost;
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 3;
    long total = 0;
    for (int i = 0; i < count; i++)
        total += serve(i + 1, 200);
    printf("total=%ld\n", total);
    return 0;
}
