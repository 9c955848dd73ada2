/* LD_PRELOAD shim for stapbpf on machines without CAP_SYS_RESOURCE.
 *
 * stapbpf insists on raising RLIMIT_MEMLOCK to infinity before it loads its
 * BPF programs and gives up when that fails.  Since Linux 5.11, BPF memory is
 * charged to the memory cgroup, not to RLIMIT_MEMLOCK, so the raise is not
 * needed there.  This shim turns exactly that one failure (setrlimit of
 * RLIMIT_MEMLOCK failing with EPERM) into success; every other call goes to
 * libc unchanged.  .ci/provision builds it into
 * /usr/local/lib/stapbench/memlock_shim.so; the runner preloads it only for
 * --runtime=bpf. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/resource.h>

typedef int (*setrlimit_fn)(__rlimit_resource_t, const struct rlimit *);

int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
    static setrlimit_fn real_setrlimit;
    if (!real_setrlimit)
        real_setrlimit = (setrlimit_fn)dlsym(RTLD_NEXT, "setrlimit");
    int rc = real_setrlimit(resource, rlim);
    if (rc != 0 && errno == EPERM && resource == RLIMIT_MEMLOCK) {
        errno = 0;
        return 0;
    }
    return rc;
}
