// A small KVM guest for the benchmarks and for the tests of many VMs: a VM with N vCPU threads
// that run real-mode code making port writes (each one a KVM_EXIT_IO and a kvm_pio event), then
// halt. It is C rather than the tests' C# guest so that 200 of them fit in a few hundred MB, that
// thousands can start and stop in seconds, and that a guest's timing carries no runtime of its
// own (JIT, GC threads).
//
// usage: guest -name NAME [--vcpus N] [--outs N] [--every MS [--lifetime MS] | --churn N]
//              [--two-ports | --halts] [--wait PORT:US]... [--stay]
//   prints "ready PID" once its vCPU threads exist.
//   without --every: waits for SIGUSR1, runs the program once on every vCPU, prints
//     "done NANOSECONDS CPU_NANOSECONDS" (the run's wall time, and the CPU time the process took
//     meanwhile: its vCPU threads' time in the guest and in the kernel for their exits) and exits.
//   with --every MS: every vCPU runs the program every MS milliseconds until the guest is killed,
//     or with --lifetime until that time has passed; then it prints "writes N" (all its port
//     writes, every vCPU's runs complete) and exits.
//   with --churn N: N VM processes one after the other, each a child that makes its VM, runs the
//     program once on every vCPU and exits; then prints "churned N".
//   --two-ports: each of the N rounds writes to port 0x3f8 and then to 0x2f8 (2N port exits).
//   --halts: the program halts N times instead (the VMM enters the guest again after each halt)
//     and ends with one port write: N halt exits the VMM handles, then one port exit.
//   --wait PORT:US (up to four): the VMM busy-waits US microseconds on each exit to that port
//     (hexadecimal 0x3f8 or decimal; "hlt" for halts with --halts) before it enters the guest
//     again: exits of a known handling time, for the tests of exit latencies.
//   --stay: after "done", the VM process stays until it is killed (its last counts can be read).
// The guest dies with the process that started it (PR_SET_PDEATHSIG).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MEMORY_SIZE 0x10000
#define CODE_ADDRESS 0x1000

// mov dx,0x3f8; L: out dx,al; dec ecx; jnz L; hlt  (ECX, not CX: a million writes in one run)
static const uint8_t code[] = { 0xBA, 0xF8, 0x03, 0xEE, 0x66, 0x49, 0x75, 0xFB, 0xF4 };
// mov dx,0x3f8; L: out dx,al; mov dx,0x2f8; out dx,al; mov dx,0x3f8; dec ecx; jnz L; hlt
static const uint8_t two_ports[] = { 0xBA, 0xF8, 0x03, 0xEE, 0xBA, 0xF8, 0x02, 0xEE, 0xBA, 0xF8, 0x03, 0x66, 0x49, 0x75, 0xF4, 0xF4 };
// mov dx,0x3f8; L: hlt; dec ecx; jnz L; out dx,al  (no in-kernel interrupt controller: each
// halt is a KVM_EXIT_HLT, after which the vCPU goes on at the next instruction)
static const uint8_t halts[] = { 0xBA, 0xF8, 0x03, 0xF4, 0x66, 0x49, 0x75, 0xFB, 0xEE };
// --wait's port for halts: beyond every port number.
#define HALT_WAIT 0x10000u
static int use_two_ports, use_halts, stay;
static struct { unsigned port; long us; } waits[4];
static int wait_count;

static int vm_fd, run_size, every_ms, lifetime_ms;
static volatile int stopping;
static long long runs_done;
static unsigned outs = 1000;

static void fail(const char *what) { fprintf(stderr, "guest: %s: %s\n", what, strerror(errno)); exit(1); }

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

// The CPU time of every thread of the process (a vCPU's time in the guest counts as its user time).
static long long cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

struct vcpu { int fd; struct kvm_run *run; pthread_t thread; };

static void run_program(struct vcpu *v)
{
    struct kvm_sregs sregs;
    if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) fail("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) fail("KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = CODE_ADDRESS, .rflags = 2, .rcx = outs, .rsp = 0x8000 };
    if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) fail("KVM_SET_REGS");
    for (;;) {
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            fail("KVM_RUN");
        }
        // With --halts a halt is handled and the port write ends the run; else the other way round.
        int handled = use_halts ? KVM_EXIT_HLT : KVM_EXIT_IO;
        if (v->run->exit_reason == (unsigned)handled) {
            unsigned port = use_halts ? HALT_WAIT : v->run->io.port;
            for (int i = 0; i < wait_count; i++) {
                if (port != waits[i].port)
                    continue;
                long long until = now_ns() + waits[i].us * 1000LL;
                while (now_ns() < until)
                    ;
            }
            continue;
        }
        if (v->run->exit_reason == (use_halts ? KVM_EXIT_IO : KVM_EXIT_HLT)) return;
        fprintf(stderr, "guest: unexpected exit reason %u\n", v->run->exit_reason);
        exit(1);
    }
}

static void *periodic(void *arg)
{
    struct vcpu *v = arg;
    struct timespec pause = { every_ms / 1000, (every_ms % 1000) * 1000000L };
    while (!stopping) {
        run_program(v);
        __atomic_add_fetch(&runs_done, 1, __ATOMIC_RELAXED);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

// Without --every the vCPU threads exist before "ready" (per-thread counters can open on them
// first) and wait here until the run starts.
static pthread_barrier_t start_line;

static void *once(void *arg) { pthread_barrier_wait(&start_line); run_program(arg); return NULL; }

static struct vcpu *create_vm(int vcpus)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) fail("open /dev/kvm");
    vm_fd = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm_fd < 0) fail("KVM_CREATE_VM");
    uint8_t *memory = mmap(NULL, MEMORY_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) fail("mmap");
    if (use_two_ports)
        memcpy(memory + CODE_ADDRESS, two_ports, sizeof two_ports);
    else if (use_halts)
        memcpy(memory + CODE_ADDRESS, halts, sizeof halts);
    else
        memcpy(memory + CODE_ADDRESS, code, sizeof code);
    struct kvm_userspace_memory_region region = { .slot = 0, .guest_phys_addr = 0, .memory_size = MEMORY_SIZE, .userspace_addr = (uintptr_t)memory };
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) fail("KVM_SET_USER_MEMORY_REGION");
    run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < 0) fail("KVM_GET_VCPU_MMAP_SIZE");

    struct vcpu *all = calloc((size_t)vcpus, sizeof *all);
    for (int i = 0; i < vcpus; i++) {
        all[i].fd = ioctl(vm_fd, KVM_CREATE_VCPU, i);
        if (all[i].fd < 0) fail("KVM_CREATE_VCPU");
        all[i].run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, all[i].fd, 0);
        if (all[i].run == MAP_FAILED) fail("mmap kvm_run");
    }
    return all;
}

static void start_threads(struct vcpu *all, int vcpus)
{
    pthread_barrier_init(&start_line, NULL, (unsigned)vcpus + 1);
    for (int i = 0; i < vcpus; i++)
        if ((errno = pthread_create(&all[i].thread, NULL, once, &all[i])) != 0) fail("pthread_create");
}

static void run_threads(struct vcpu *all, int vcpus)
{
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < vcpus; i++)
        pthread_join(all[i].thread, NULL);
}

static int churn(int count, int vcpus)
{
    for (int n = 0; n < count; n++) {
        pid_t child = fork();
        if (child < 0) fail("fork");
        if (child == 0) {
            struct vcpu *all = create_vm(vcpus);
            start_threads(all, vcpus);
            run_threads(all, vcpus);
            _exit(0);
        }
        int status;
        if (waitpid(child, &status, 0) < 0) fail("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "guest: VM process %d of %d failed\n", n + 1, count);
            return 1;
        }
    }
    printf("churned %d\n", count);
    return 0;
}

/* A whole non-negative number (0x... too) up to max, or the run stops: a typo must not become 0. */
static long number(const char *option, const char *text, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 0);
    if (errno || end == text || *end || value < 0 || value > max) {
        fprintf(stderr, "guest: %s takes a number from 0 to %ld, not \"%s\"\n", option, max, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    int vcpus = 1, churn_count = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--two-ports")) { use_two_ports = 1; continue; }
        if (!strcmp(argv[i], "--halts")) { use_halts = 1; continue; }
        if (!strcmp(argv[i], "--stay")) { stay = 1; continue; }
        static const char *const valued[] = { "--wait", "--vcpus", "--outs", "--every", "--lifetime", "--churn", "-name" };
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
            known |= !strcmp(argv[i], valued[k]);
        if (!known) { fprintf(stderr, "guest: unknown option %s\n", argv[i]); return 2; }
        if (i + 1 >= argc) { fprintf(stderr, "guest: %s takes a value\n", argv[i]); return 2; }
        const char *option = argv[i], *value = argv[++i];
        if (!strcmp(option, "--wait")) {
            const char *colon = strchr(value, ':');
            char port[16];
            if (!colon || wait_count == 4 || colon - value >= (long)sizeof port) { fprintf(stderr, "guest: --wait takes PORT:US, at most 4 times\n"); return 2; }
            snprintf(port, sizeof port, "%.*s", (int)(colon - value), value);
            waits[wait_count].port = !strcmp(port, "hlt") ? HALT_WAIT : (unsigned)number("--wait's port (or hlt)", port, 0xffff);
            waits[wait_count++].us = number("--wait's microseconds", colon + 1, 10000000);
        }
        else if (!strcmp(option, "--vcpus")) vcpus = (int)number(option, value, 4096);
        else if (!strcmp(option, "--outs")) outs = (unsigned)number(option, value, 0xffffffffL);
        else if (!strcmp(option, "--every")) every_ms = (int)number(option, value, 3600000);
        else if (!strcmp(option, "--lifetime")) lifetime_ms = (int)number(option, value, 86400000);
        else if (!strcmp(option, "--churn")) churn_count = (int)number(option, value, 1000000);
        /* -name NAME is read from the command line by the tool, as QEMU's. */
    }
    if (vcpus < 1 || outs < 1) { fprintf(stderr, "guest: --vcpus and --outs must be at least 1\n"); return 2; }
    if (use_two_ports && use_halts) { fprintf(stderr, "guest: --two-ports and --halts are two programs: give one\n"); return 2; }
    // A wait the program never meets would time nothing, silently.
    for (int i = 0; i < wait_count; i++) {
        if ((waits[i].port == HALT_WAIT) != use_halts) {
            fprintf(stderr, use_halts ? "guest: with --halts the VMM waits on halts only: --wait hlt:US\n" : "guest: --wait hlt:US goes with --halts\n");
            return 2;
        }
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (churn_count > 0)
        return churn(churn_count, vcpus);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); // inherited by the vCPU threads: only sigwait sees it
    struct vcpu *all = create_vm(vcpus);

    if (every_ms > 0) {
        for (int i = 0; i < vcpus; i++)
            pthread_create(&all[i].thread, NULL, periodic, &all[i]);
        printf("ready %d\n", getpid());
        fflush(stdout);
        if (lifetime_ms <= 0)
            for (;;) pause();
        struct timespec life = { lifetime_ms / 1000, (lifetime_ms % 1000) * 1000000L };
        nanosleep(&life, NULL);
        stopping = 1;
        for (int i = 0; i < vcpus; i++)
            pthread_join(all[i].thread, NULL);
        printf("writes %lld\n", runs_done * outs);
        return 0;
    }

    start_threads(all, vcpus);
    printf("ready %d\n", getpid());
    fflush(stdout);
    int signal;
    sigwait(&usr1, &signal);
    long long started = now_ns(), cpu_started = cpu_ns();
    run_threads(all, vcpus);
    printf("done %lld %lld\n", now_ns() - started, cpu_ns() - cpu_started);
    fflush(stdout);
    if (stay)
        for (;;) pause();
    return 0;
}
