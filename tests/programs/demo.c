/* A small traced program for stapbench's tests: built with -g -O0 by
 * tests/support/programs.py.  Structs, strings and a call chain give the
 * runner, symbols and views layers something real to probe and resolve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct inner {
    int id;
    char tag[8];
};

struct request {
    long number;
    const char *uri;
    struct inner in;
    struct request *next;
};

/* noinline keeps every function a real frame at -O0 and above */
__attribute__((noinline)) int handle_leaf(struct request *r, int depth)
{
    return (int)(r->number + depth + (int)strlen(r->uri));
}

__attribute__((noinline)) int handle_middle(struct request *r, int depth)
{
    return handle_leaf(r, depth + 1) + 1;
}

__attribute__((noinline)) int handle_request(struct request *r)
{
    return handle_middle(r, 1);
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 3;
    int delay_ms = argc > 2 ? atoi(argv[2]) : 0;
    const char *uri = argc > 3 ? argv[3] : "/index.html";
    long total = 0;
    for (int i = 0; i < count; i++) {
        struct request r = { .number = i + 1, .uri = uri, .in = { .id = 7 * i, .tag = "tag" }, .next = NULL };
        total += handle_request(&r);
        if (delay_ms > 0)
            usleep(delay_ms * 1000);
    }
    printf("total=%ld\n", total);
    return 0;
}
