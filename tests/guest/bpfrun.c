// A process for the tests of the BPF programs: it raises synthetic events by running the tool's
// own programs with BPF_PROG_TEST_RUN, on its main thread or on a new thread, on a chosen CPU, so
// the programs see a real process (and thread) that is not the test's. The programs are the test
// process's: this one copies their descriptors with pidfd_getfd. The thread is moved to the CPU
// (sched_setaffinity) rather than asking the kernel to run the program there: the kernel runs it
// there from an interrupt, where the current process is whichever one that CPU was running.
//
// Commands, one per line on standard input; each answers one line on standard output:
//   get PID FD                   copy descriptor FD of process PID    -> "fd N"
//   run FD CPU COUNT HEX         run program FD COUNT times on CPU (-1: any) with the context
//                                HEX (the bytes in hex, 8 per argument) -> "ran RETVAL"
//   trun FD CPU COUNT HEX        the same on a new thread             -> "ran RETVAL TID"
//   timed FD CPU COUNT HEX US EFD EHEX
//                                COUNT times: run program FD (an exit's stamp), busy-wait US
//                                microseconds, then run program EFD with EHEX (an entry), or with
//                                EFD -1 enter ioctl(KVM_RUN) on /dev/null (the system call an
//                                entry program on sys_enter sees)      -> "timed RETVAL"
//   fork N FD HEX                N child processes (each a process of its own, as VMs are), which
//                                wait                                  -> "forked PID..." (N pids)
//   kick                         child i runs program FD (i % 10) + 1 times with HEX, every child
//                                once, and waits again                 -> "kicked RETVAL"
//   release                      the children exit and are reaped      -> "released"
//   exit                         exits with status 0
// It prints "ready PID" first, and dies with the process that started it (PR_SET_PDEATHSIG).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct job {
    int fd, cpu, count;
    unsigned char context[96];
    size_t size;
    long result;
    pid_t tid;
};

static void *run(void *argument)
{
    struct job *job = argument;
    job->tid = (pid_t)syscall(SYS_gettid);
    if (job->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(job->cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            job->result = -errno;
            return NULL;
        }
    }
    for (int i = 0; i < job->count; i++) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.test.prog_fd = (unsigned)job->fd;
        attr.test.ctx_in = (uint64_t)(uintptr_t)job->context;
        attr.test.ctx_size_in = (unsigned)job->size;
        long r;
        do
            r = syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof attr);
        while (r < 0 && errno == EINTR);
        job->result = r < 0 ? -errno : (long)attr.test.retval;
        if (r < 0)
            break;
    }
    return NULL;
}

static long run_once(int fd, const unsigned char *context, size_t size)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.test.prog_fd = (unsigned)fd;
    attr.test.ctx_in = (uint64_t)(uintptr_t)context;
    attr.test.ctx_size_in = (unsigned)size;
    long r;
    do
        r = syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof attr);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : (long)attr.test.retval;
}

static void busy_wait(long microseconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000 < microseconds);
}

static int parse(const char *hex, struct job *job)
{
    size_t length = strlen(hex);
    if (length % 16 != 0 || length / 2 > sizeof job->context)
        return -1;
    for (size_t i = 0; i < length / 2; i++) {
        unsigned value;
        if (sscanf(hex + 2 * i, "%2x", &value) != 1)
            return -1;
        job->context[i] = (unsigned char)value;
    }
    job->size = length / 2;
    return 0;
}

// The children of "fork": each waits on a pipe of its own for a byte (a kick) and answers on a
// shared one, so the parent knows every child ran before it answers.
static pid_t *children;
static int *kicks, done[2] = { -1, -1 }, child_count;

static void child(int index, struct job job)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Only the program, its own pipe and the answers' stay open (the others' pipes would keep
    // them from ending): every other descriptor from 3 up is closed, a range at a time.
    int keep[3] = { job.fd, kicks[index], done[1] };
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (keep[b] < keep[a]) {
                int t = keep[a];
                keep[a] = keep[b];
                keep[b] = t;
            }
    unsigned from = 3;
    for (int a = 0; a < 3; a++) {
        if ((unsigned)keep[a] > from)
            syscall(SYS_close_range, from, (unsigned)keep[a] - 1, 0);
        from = (unsigned)keep[a] + 1 > from ? (unsigned)keep[a] + 1 : from;
    }
    syscall(SYS_close_range, from, ~0U, 0);
    job.count = index % 10 + 1;
    char byte;
    while (read(kicks[index], &byte, 1) == 1) {
        run(&job);
        // 0 for success, else the errno (below 256).
        char answer = (char)(job.result < 0 ? -job.result : 0);
        if (write(done[1], &answer, 1) != 1)
            _exit(1);
    }
    _exit(0);
}

static int fork_children(int count, struct job job)
{
    // One pipe end per child: the limit of open files goes to its hard maximum.
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    children = calloc((size_t)count, sizeof *children);
    kicks = calloc((size_t)count, sizeof *kicks);
    if (children == NULL || kicks == NULL || pipe(done) != 0)
        return -1;
    for (int i = 0; i < count; i++) {
        int pair[2];
        if (pipe(pair) != 0)
            return -1;
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            kicks[i] = pair[0];
            child(i, job);
        }
        close(pair[0]);
        kicks[i] = pair[1];
        children[i] = pid;
        child_count = i + 1;
    }
    return 0;
}

static long kick_children(void)
{
    long result = 0;
    for (int i = 0; i < child_count; i++)
        if (write(kicks[i], "k", 1) != 1)
            return -errno;
    for (int i = 0; i < child_count; i++) {
        char answer;
        if (read(done[0], &answer, 1) != 1)
            return -EPIPE;
        if (answer != 0)
            result = -(long)(unsigned char)answer;
    }
    return result;
}

static void release_children(void)
{
    for (int i = 0; i < child_count; i++)
        close(kicks[i]);
    for (int i = 0; i < child_count; i++)
        waitpid(children[i], NULL, 0);
    child_count = 0;
}

int main(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    char line[512], command[16], hex[256];
    while (fgets(line, sizeof line, stdin)) {
        struct job job;
        memset(&job, 0, sizeof job);
        int pid, fd;
        if (sscanf(line, "get %d %d", &pid, &fd) == 2) {
            int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
            int copy = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
            printf("fd %d\n", copy < 0 ? -errno : copy);
        } else if (sscanf(line, "%15s %d %d %d %255s", command, &job.fd, &job.cpu, &job.count, hex) == 5 &&
                   (strcmp(command, "run") == 0 || strcmp(command, "trun") == 0)) {
            if (parse(hex, &job) != 0) {
                printf("error context\n");
                continue;
            }
            if (strcmp(command, "run") == 0) {
                cpu_set_t all;
                sched_getaffinity(0, sizeof all, &all);
                run(&job);
                sched_setaffinity(0, sizeof all, &all);
                printf("ran %ld\n", job.result);
            } else {
                pthread_t thread;
                pthread_create(&thread, NULL, run, &job);
                pthread_join(thread, NULL);
                printf("ran %ld %d\n", job.result, job.tid);
            }
        } else if (strncmp(line, "timed ", 6) == 0) {
            char entry_hex[256];
            long wait_us;
            int entry_fd;
            struct job entry;
            memset(&entry, 0, sizeof entry);
            if (sscanf(line, "timed %d %d %d %255s %ld %d %255s", &job.fd, &job.cpu, &job.count, hex, &wait_us, &entry_fd, entry_hex) != 7 ||
                parse(hex, &job) != 0 || parse(entry_hex, &entry) != 0) {
                printf("error timed\n");
                continue;
            }
            if (job.cpu >= 0) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(job.cpu, &set);
                sched_setaffinity(0, sizeof set, &set);
            }
            // Real-time priority while timing (root): other tasks on a busy machine do not
            // preempt the wait and put exits in buckets of milliseconds.
            struct sched_param realtime = { .sched_priority = 50 }, normal = { .sched_priority = 0 };
            int raised = sched_setscheduler(0, SCHED_FIFO, &realtime) == 0;
            int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
            long result = 0;
            // Each exit's time as this process saw it from outside both programs: a bound above
            // the time the kernel measures between them, as log2 buckets of nanoseconds.
            long bounds[64] = { 0 };
            for (int i = 0; i < job.count && result >= 0; i++) {
                struct timespec before, after;
                clock_gettime(CLOCK_MONOTONIC, &before);
                result = run_once(job.fd, job.context, job.size);
                busy_wait(wait_us);
                if (entry_fd >= 0)
                    result = result < 0 ? result : run_once(entry_fd, entry.context, entry.size);
                else
                    ioctl(null, KVM_RUN, 0);
                clock_gettime(CLOCK_MONOTONIC, &after);
                unsigned long long ns = (unsigned long long)(after.tv_sec - before.tv_sec) * 1000000000ULL +
                                        (unsigned long long)(after.tv_nsec - before.tv_nsec);
                bounds[ns < 2 ? 0 : 63 - __builtin_clzll(ns)]++;
            }
            close(null);
            if (raised)
                sched_setscheduler(0, SCHED_OTHER, &normal);
            printf("timed %ld", result);
            for (int b = 0; b < 64; b++)
                if (bounds[b] != 0)
                    printf(" %d:%ld", b, bounds[b]);
            printf("\n");
        } else if (sscanf(line, "fork %d %d %255s", &job.count, &job.fd, hex) == 3) {
            int count = job.count;
            job.cpu = -1; // the children run wherever they are (the scan above may have set it)
            if (child_count != 0 || parse(hex, &job) != 0 || fork_children(count, job) != 0) {
                printf("error fork %d\n", errno);
                continue;
            }
            printf("forked");
            for (int i = 0; i < child_count; i++)
                printf(" %d", children[i]);
            printf("\n");
        } else if (strncmp(line, "kick", 4) == 0) {
            printf("kicked %ld\n", kick_children());
        } else if (strncmp(line, "release", 7) == 0) {
            release_children();
            printf("released\n");
        } else if (strncmp(line, "exit", 4) == 0) {
            return 0;
        } else {
            printf("error command\n");
        }
    }
    return 0;
}
