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
//   spawn [NAME]                 a thread that stays, named NAME (prctl PR_SET_NAME: "CPU 0/KVM",
//                                as QEMU names its vCPU threads)      -> "spawned TID"
//   on TID COMMAND               thread TID (spawned) runs COMMAND (run or timed) -> its answer
//   end TID                      thread TID exits, and is joined      -> "ended TID"
//   churn N FD HEX EXITFD        N threads one after the other, the Ith named "CPU I%4/KVM": each
//                                runs FD once with HEX, then EXITFD (its exit), and exits
//                                                                     -> "churned FAILURES"
//   fork N FD HEX [REASONS]      N child processes (each a process of its own, as VMs are), which
//                                wait                                  -> "forked PID..." (N pids)
//                                With REASONS (as "2,6,5"), FD is an exit program: the Jth run of
//                                each kick has reason J % count in HEX's first argument and is
//                                followed by ioctl(KVM_RUN) on /dev/null (the entry sys_enter sees)
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
// "fork"'s REASONS: exits of these reasons in turn, each followed by an entry (none: plain runs).
static unsigned reasons[16];
static int reason_count;

// A child's kick with REASONS: its runs one at a time, each an exit of the next reason, then its entry.
static void run_exits(struct job *job, int null)
{
    int count = job->count;
    job->count = 1;
    for (int j = 0; j < count && job->result >= 0; j++) {
        memcpy(job->context, &reasons[j % reason_count], sizeof reasons[0]);
        run(job);
        ioctl(null, KVM_RUN, 0);
    }
    job->count = count;
}

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
    int null = reason_count > 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
    char byte;
    while (read(kicks[index], &byte, 1) == 1) {
        job.result = 0;
        if (reason_count > 0)
            run_exits(&job, null);
        else
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

// A thread that stays: it runs the commands given to it one at a time, until told to end.
struct worker {
    pthread_t thread;
    pid_t tid;
    char name[16];
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char line[512];
    char answer[2048];
    int pending, stop;
};

#define MAX_WORKERS 64
static struct worker *workers[MAX_WORKERS];

static void handle(char *line, char *answer, size_t size);

static void *serve(void *argument)
{
    struct worker *worker = argument;
    if (worker->name[0] != '\0')
        prctl(PR_SET_NAME, worker->name, 0, 0, 0);
    pthread_mutex_lock(&worker->lock);
    worker->tid = (pid_t)syscall(SYS_gettid);
    pthread_cond_broadcast(&worker->changed);
    while (!worker->stop) {
        if (!worker->pending) {
            pthread_cond_wait(&worker->changed, &worker->lock);
            continue;
        }
        pthread_mutex_unlock(&worker->lock);
        handle(worker->line, worker->answer, sizeof worker->answer);
        pthread_mutex_lock(&worker->lock);
        worker->pending = 0;
        pthread_cond_broadcast(&worker->changed);
    }
    pthread_mutex_unlock(&worker->lock);
    return NULL;
}

static struct worker *find_worker(pid_t tid)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        if (workers[i] && workers[i]->tid == tid)
            return workers[i];
    return NULL;
}

static void spawn(const char *name, char *answer, size_t size)
{
    int slot = 0;
    while (slot < MAX_WORKERS && workers[slot])
        slot++;
    struct worker *worker = calloc(1, sizeof *worker);
    if (slot == MAX_WORKERS || !worker) {
        free(worker);
        snprintf(answer, size, "error spawn");
        return;
    }
    snprintf(worker->name, sizeof worker->name, "%s", name);
    pthread_mutex_init(&worker->lock, NULL);
    pthread_cond_init(&worker->changed, NULL);
    pthread_create(&worker->thread, NULL, serve, worker);
    pthread_mutex_lock(&worker->lock);
    while (worker->tid == 0)
        pthread_cond_wait(&worker->changed, &worker->lock);
    pthread_mutex_unlock(&worker->lock);
    workers[slot] = worker;
    snprintf(answer, size, "spawned %d", worker->tid);
}

// Gives a command to a thread that stays (stop: tells it to end), and waits until it is done.
static void give(struct worker *worker, const char *command, int stop)
{
    pthread_mutex_lock(&worker->lock);
    if (stop)
        worker->stop = 1;
    else {
        snprintf(worker->line, sizeof worker->line, "%s", command);
        worker->pending = 1;
    }
    pthread_cond_broadcast(&worker->changed);
    while (worker->pending)
        pthread_cond_wait(&worker->changed, &worker->lock);
    pthread_mutex_unlock(&worker->lock);
}

struct churned {
    struct job job;
    int exit_fd, index;
    long failed;
};

static void *churn_one(void *argument)
{
    struct churned *one = argument;
    char name[16];
    snprintf(name, sizeof name, "CPU %d/KVM", one->index % 4);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    static const unsigned char none[8];
    one->failed = run_once(one->job.fd, one->job.context, one->job.size) != 1 || run_once(one->exit_fd, none, sizeof none) != 0;
    return NULL;
}

static void churn(char *line, char *answer, size_t size)
{
    struct churned one;
    memset(&one, 0, sizeof one);
    char hex[256];
    int count;
    if (sscanf(line, "churn %d %d %255s %d", &count, &one.job.fd, hex, &one.exit_fd) != 4 || parse(hex, &one.job) != 0) {
        snprintf(answer, size, "error churn");
        return;
    }
    long failures = 0;
    for (one.index = 0; one.index < count; one.index++) {
        pthread_t thread;
        pthread_create(&thread, NULL, churn_one, &one);
        pthread_join(thread, NULL);
        failures += one.failed;
    }
    snprintf(answer, size, "churned %ld", failures);
}

static void timed(char *line, char *answer, size_t size)
{
    struct job job;
    memset(&job, 0, sizeof job);
    char hex[256], entry_hex[256];
    long wait_us;
    int entry_fd;
    struct job entry;
    memset(&entry, 0, sizeof entry);
    if (sscanf(line, "timed %d %d %d %255s %ld %d %255s", &job.fd, &job.cpu, &job.count, hex, &wait_us, &entry_fd, entry_hex) != 7 ||
        parse(hex, &job) != 0 || parse(entry_hex, &entry) != 0) {
        snprintf(answer, size, "error timed");
        return;
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
    size_t used = (size_t)snprintf(answer, size, "timed %ld", result);
    for (int b = 0; b < 64 && used < size; b++)
        if (bounds[b] != 0)
            used += (size_t)snprintf(answer + used, size - used, " %d:%ld", b, bounds[b]);
}

// One command, answered in ANSWER; run in the thread that calls it.
static void handle(char *line, char *answer, size_t size)
{
    char command[16], hex[256];
    struct job job;
    memset(&job, 0, sizeof job);
    int pid, fd, tid;
    if (sscanf(line, "get %d %d", &pid, &fd) == 2) {
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        int copy = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
        snprintf(answer, size, "fd %d", copy < 0 ? -errno : copy);
    } else if (sscanf(line, "%15s %d %d %d %255s", command, &job.fd, &job.cpu, &job.count, hex) == 5 &&
               (strcmp(command, "run") == 0 || strcmp(command, "trun") == 0)) {
        if (parse(hex, &job) != 0) {
            snprintf(answer, size, "error context");
            return;
        }
        if (strcmp(command, "run") == 0) {
            cpu_set_t all;
            sched_getaffinity(0, sizeof all, &all);
            run(&job);
            sched_setaffinity(0, sizeof all, &all);
            snprintf(answer, size, "ran %ld", job.result);
        } else {
            pthread_t thread;
            pthread_create(&thread, NULL, run, &job);
            pthread_join(thread, NULL);
            snprintf(answer, size, "ran %ld %d", job.result, job.tid);
        }
    } else if (strncmp(line, "timed ", 6) == 0) {
        timed(line, answer, size);
    } else if (strncmp(line, "churn ", 6) == 0) {
        churn(line, answer, size);
    } else if (strncmp(line, "spawn", 5) == 0 && (line[5] == '\0' || line[5] == ' ')) {
        spawn(line[5] == ' ' ? line + 6 : "", answer, size);
    } else if (sscanf(line, "on %d %n", &tid, &fd) == 1 && find_worker(tid)) {
        struct worker *worker = find_worker(tid);
        give(worker, line + fd, 0);
        snprintf(answer, size, "%s", worker->answer);
    } else if (sscanf(line, "end %d", &tid) == 1 && find_worker(tid)) {
        struct worker *worker = find_worker(tid);
        give(worker, NULL, 1);
        pthread_join(worker->thread, NULL);
        for (int i = 0; i < MAX_WORKERS; i++)
            if (workers[i] == worker)
                workers[i] = NULL;
        free(worker);
        snprintf(answer, size, "ended %d", tid);
    } else if ((tid = -1, sscanf(line, "fork %d %d %255s %n", &job.count, &job.fd, hex, &tid)) == 3) {
        int count = job.count;
        job.cpu = -1; // the children run wherever they are (the scan above may have set it)
        reason_count = 0;
        for (char *next = tid < 0 ? "" : line + tid, *end; *next != '\0' && reason_count < 16; next = end + (*end == ',')) {
            unsigned long reason = strtoul(next, &end, 10);
            if (end == next)
                break;
            reasons[reason_count++] = (unsigned)reason;
        }
        if (child_count != 0 || parse(hex, &job) != 0 || fork_children(count, job) != 0) {
            snprintf(answer, size, "error fork %d", errno);
            return;
        }
        size_t used = (size_t)snprintf(answer, size, "forked");
        for (int i = 0; i < child_count && used < size; i++)
            used += (size_t)snprintf(answer + used, size - used, " %d", children[i]);
    } else if (strncmp(line, "kick", 4) == 0) {
        snprintf(answer, size, "kicked %ld", kick_children());
    } else if (strncmp(line, "release", 7) == 0) {
        release_children();
        snprintf(answer, size, "released");
    } else {
        snprintf(answer, size, "error command");
    }
}

int main(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    // Room for "forked" and the pids of thousands of children.
    static char answer[1 << 16];
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "exit") == 0)
            return 0;
        handle(line, answer, sizeof answer);
        printf("%s\n", answer);
    }
    return 0;
}
