using System.Runtime.InteropServices;
using System.Text;

namespace KvmStat.Tests.TestGuest;

/// <summary>
/// A real KVM virtual machine made through /dev/kvm: 64 KiB of guest memory and vCPUs that run a
/// few bytes of real-mode code: N "out" instructions to port 0x3f8 (no device: each exits to user
/// space as KVM_EXIT_IO and fires kvm_pio), M byte writes to the unmapped address 0x10000 (each
/// exits as KVM_EXIT_MMIO and fires kvm_mmio), then "hlt" (KVM_EXIT_HLT, no in-kernel irqchip).
/// Each vCPU lives on its own OS thread for its whole life, as KVM wants.
/// </summary>
internal sealed class TestVm : IDisposable
{
    private const ulong MemorySize = 0x10000;
    private const ulong CodeAddress = 0x1000;
    private const ushort MmioSegment = 0x1000; // ES:0 = 0x10000, just past guest memory

    // mov dx,0x3f8; jcxz +3; L1: out dx,al; loop L1; mov cx,si; jcxz +6; L2: mov [es:0],al; loop L2; hlt
    private static readonly byte[] Code =
    [
        0xBA, 0xF8, 0x03,
        0xE3, 0x03,
        0xEE,
        0xE2, 0xFD,
        0x89, 0xF1,
        0xE3, 0x06,
        0x26, 0xA2, 0x00, 0x00,
        0xE2, 0xFA,
        0xF4,
    ];

    private readonly int _kvm;
    private readonly int _vm;
    private readonly nint _memory;
    private readonly List<Vcpu> _vcpus = [];

    internal TestVm(int vcpuCount)
    {
        _kvm = Check(Interop.Libc.Open("/dev/kvm\0"u8, 2 /* O_RDWR */ | Interop.Abi.O_CLOEXEC), "open /dev/kvm");
        _vm = CheckIoctl(Interop.Libc.Ioctl(_kvm, KvmInterop.KVM_CREATE_VM, 0), "KVM_CREATE_VM");

        _memory = KvmInterop.Mmap(0, (nuint)MemorySize, KvmInterop.PROT_READ | KvmInterop.PROT_WRITE,
            KvmInterop.MAP_PRIVATE | KvmInterop.MAP_ANONYMOUS, -1, 0);
        if (_memory == -1)
            throw new InvalidOperationException($"mmap: {Interop.Errno.Describe(Interop.Errno.Last)}");
        Marshal.Copy(Code, 0, _memory + (nint)CodeAddress, Code.Length);

        var region = new KvmInterop.UserspaceMemoryRegion
        {
            Slot = 0,
            GuestPhysAddr = 0,
            MemorySize = MemorySize,
            UserspaceAddr = (ulong)_memory,
        };
        unsafe
        {
            CheckIoctl(Interop.Libc.Ioctl(_vm, KvmInterop.KVM_SET_USER_MEMORY_REGION, (nint)(&region)), "KVM_SET_USER_MEMORY_REGION");
        }

        _runSize = CheckIoctl(Interop.Libc.Ioctl(_kvm, KvmInterop.KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
        for (int i = 0; i < vcpuCount; i++)
            AddVcpu();
    }

    private readonly int _runSize;

    /// <summary>Adds a vCPU on a new thread (as a VMM does on CPU hot-plug).</summary>
    internal Vcpu AddVcpu()
    {
        var vcpu = new Vcpu(this, _vcpus.Count, _runSize);
        _vcpus.Add(vcpu);
        if (VmStats is not null)
            vcpu.OpenStats();
        return vcpu;
    }

    internal int VmDescriptor => _vm;

    /// <summary>
    /// KVM's binary statistics of the VM and of each vCPU, kept open for the VM's life as QEMU 8.1
    /// and later do (a monitor copies them with pidfd_getfd). Only this process could create them.
    /// </summary>
    internal int? VmStats { get; private set; }

    internal void OpenStatsDescriptors()
    {
        int fd = Check(Interop.Libc.Ioctl(_vm, KvmInterop.KVM_GET_STATS_FD, 0), "KVM_GET_STATS_FD");
        VmStats = fd;
        foreach (Vcpu vcpu in _vcpus)
            vcpu.OpenStats();
    }

    internal IReadOnlyList<Vcpu> Vcpus => _vcpus;

    /// <summary>Runs the program on every vCPU at once and waits until all have halted.</summary>
    internal void Run(int outs, int mmioWrites)
    {
        foreach (Vcpu vcpu in _vcpus)
            vcpu.Start(outs, mmioWrites);
        foreach (Vcpu vcpu in _vcpus)
            vcpu.WaitHalted();
    }

    public void Dispose()
    {
        foreach (Vcpu vcpu in _vcpus)
            vcpu.Dispose();
        if (VmStats is int vmStats)
            _ = Interop.Libc.Close(vmStats);
        _ = Interop.Libc.Close(_vm);
        _ = Interop.Libc.Close(_kvm);
        _ = KvmInterop.Munmap(_memory, (nuint)MemorySize);
    }

    private static int Check(int result, string what) =>
        result >= 0 ? result : throw new InvalidOperationException($"{what}: {Interop.Errno.Describe(-result)}");

    private static int CheckIoctl(int result, string what) => Check(result, what);

    /// <summary>One vCPU and the OS thread that runs it.</summary>
    internal sealed class Vcpu : IDisposable
    {
        private readonly TestVm _vm;
        private readonly int _runSize;
        private readonly Thread _thread;
        private readonly SemaphoreSlim _go = new(0);
        private readonly SemaphoreSlim _halted = new(0);
        private readonly TaskCompletionSource<int> _tid = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _quit;
        private int _outs;
        private int _mmio;
        private Exception? _failure;

        internal Vcpu(TestVm vm, int index, int runSize)
        {
            _vm = vm;
            Index = index;
            _runSize = runSize;
            Descriptor = CheckIoctl(Interop.Libc.Ioctl(vm._vm, KvmInterop.KVM_CREATE_VCPU, index), "KVM_CREATE_VCPU");
            // Named as QEMU names its vCPU threads: the tool tells vCPUs apart by these names.
            _thread = new Thread(Loop) { IsBackground = true, Name = $"CPU {index}/KVM" };
            _thread.Start();
            ThreadId = _tid.Task.GetAwaiter().GetResult();
        }

        internal int Index { get; }

        internal int Descriptor { get; }

        /// <summary>The kernel thread id the vCPU runs on (what perf counts per thread).</summary>
        internal int ThreadId { get; }

        internal int Exits { get; private set; }

        /// <summary>The vCPU's statistics descriptor, once opened.</summary>
        internal int? Stats { get; private set; }

        internal void OpenStats()
        {
            if (Stats is not null)
                return;
            int fd = Check(Interop.Libc.Ioctl(Descriptor, KvmInterop.KVM_GET_STATS_FD, 0), "KVM_GET_STATS_FD (vCPU)");
            Stats = fd;
        }

        internal void Start(int outs, int mmio)
        {
            _outs = outs;
            _mmio = mmio;
            _go.Release();
        }

        internal void WaitHalted()
        {
            _halted.Wait();
            if (_failure is not null)
                throw new InvalidOperationException($"vCPU {Index}: {_failure.Message}", _failure);
        }

        private void Loop()
        {
            _tid.SetResult(KvmStat.Tests.TestGuest.KvmInterop.GetTid());
            nint run = KvmInterop.Mmap(0, (nuint)_runSize, KvmInterop.PROT_READ | KvmInterop.PROT_WRITE, KvmInterop.MAP_SHARED, Descriptor, 0);
            try
            {
                while (true)
                {
                    _go.Wait();
                    if (_quit)
                        return;
                    try
                    {
                        if (run == -1)
                            throw new InvalidOperationException("mmap kvm_run failed");
                        RunProgram(run);
                    }
                    catch (Exception e)
                    {
                        _failure = e;
                    }
                    _halted.Release();
                }
            }
            finally
            {
                if (run != -1)
                    _ = KvmInterop.Munmap(run, (nuint)_runSize);
            }
        }

        private unsafe void RunProgram(nint run)
        {
            KvmInterop.Sregs sregs;
            CheckIoctl(Interop.Libc.Ioctl(Descriptor, KvmInterop.KVM_GET_SREGS, (nint)(&sregs)), "KVM_GET_SREGS");
            sregs.Cs.Base = 0;
            sregs.Cs.Selector = 0;
            sregs.Es.Base = (ulong)MmioSegment << 4;
            sregs.Es.Selector = MmioSegment;
            CheckIoctl(Interop.Libc.Ioctl(Descriptor, KvmInterop.KVM_SET_SREGS, (nint)(&sregs)), "KVM_SET_SREGS");

            var regs = new KvmInterop.Regs
            {
                Rip = CodeAddress,
                Rflags = 0x2,
                Rcx = (ulong)_outs,
                Rsi = (ulong)_mmio,
                Rsp = 0x8000,
            };
            CheckIoctl(Interop.Libc.Ioctl(Descriptor, KvmInterop.KVM_SET_REGS, (nint)(&regs)), "KVM_SET_REGS");

            int exits = 0;
            while (true)
            {
                int result = Interop.Libc.Ioctl(Descriptor, KvmInterop.KVM_RUN, 0);
                if (result < 0)
                {
                    int errno = -result;
                    // The runtime signals threads (for a GC, say): KVM_RUN returns EINTR and is simply called again.
                    if (errno == Interop.Errno.EINTR || errno == Interop.Errno.EAGAIN)
                        continue;
                    throw new InvalidOperationException($"KVM_RUN: {Interop.Errno.Describe(errno)}");
                }
                exits++;
                uint reason = *(uint*)(run + KvmInterop.KvmRunExitReasonOffset);
                switch (reason)
                {
                    case KvmInterop.KVM_EXIT_IO:
                    case KvmInterop.KVM_EXIT_MMIO:
                        continue;
                    case KvmInterop.KVM_EXIT_HLT:
                        Exits = exits;
                        return;
                    default:
                        throw new InvalidOperationException($"unexpected exit reason {reason}");
                }
            }
        }

        public void Dispose()
        {
            _quit = true;
            _go.Release();
            _thread.Join();
            if (Stats is int stats)
                _ = Interop.Libc.Close(stats);
            _ = Interop.Libc.Close(Descriptor);
        }
    }
}
