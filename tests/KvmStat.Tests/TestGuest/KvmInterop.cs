using System.Runtime.InteropServices;

namespace KvmStat.Tests.TestGuest;

/// <summary>The /dev/kvm ioctls and structures the test guest uses (include/uapi/linux/kvm.h).</summary>
internal static partial class KvmInterop
{
    internal const nuint KVM_GET_API_VERSION = 0xAE00;
    internal const nuint KVM_CREATE_VM = 0xAE01;
    internal const nuint KVM_GET_VCPU_MMAP_SIZE = 0xAE04;
    internal const nuint KVM_CREATE_VCPU = 0xAE41;
    internal const nuint KVM_SET_USER_MEMORY_REGION = 0x4020AE46; // _IOW(KVMIO, 0x46, 32 bytes)
    internal const nuint KVM_RUN = 0xAE80;
    internal const nuint KVM_GET_REGS = 0x8090AE81;  // _IOR(KVMIO, 0x81, 144 bytes)
    internal const nuint KVM_SET_REGS = 0x4090AE82;  // _IOW(KVMIO, 0x82, 144 bytes)
    internal const nuint KVM_GET_SREGS = 0x8138AE83; // _IOR(KVMIO, 0x83, 312 bytes)
    internal const nuint KVM_SET_SREGS = 0x4138AE84; // _IOW(KVMIO, 0x84, 312 bytes)
    internal const nuint KVM_GET_STATS_FD = 0xAECE;

    internal const uint KVM_EXIT_IO = 2;
    internal const uint KVM_EXIT_HLT = 5;
    internal const uint KVM_EXIT_MMIO = 6;
    internal const uint KVM_EXIT_SHUTDOWN = 8;
    internal const uint KVM_EXIT_FAIL_ENTRY = 9;
    internal const uint KVM_EXIT_INTERNAL_ERROR = 17;

    internal const int KvmRunExitReasonOffset = 8;

    [StructLayout(LayoutKind.Sequential)]
    internal struct UserspaceMemoryRegion
    {
        internal uint Slot;
        internal uint Flags;
        internal ulong GuestPhysAddr;
        internal ulong MemorySize;
        internal ulong UserspaceAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Regs
    {
        internal ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
        internal ulong R8, R9, R10, R11, R12, R13, R14, R15;
        internal ulong Rip, Rflags;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Segment
    {
        internal ulong Base;
        internal uint Limit;
        internal ushort Selector;
        internal byte Type, Present, Dpl, Db, S, L, G, Avl, Unusable, Padding;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct DTable
    {
        internal ulong Base;
        internal ushort Limit;
        internal ushort Padding0, Padding1, Padding2;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct Sregs
    {
        internal Segment Cs, Ds, Es, Fs, Gs, Ss, Tr, Ldt;
        internal DTable Gdt, Idt;
        internal ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer, ApicBase;
        internal fixed ulong InterruptBitmap[4];
    }

    internal const int PROT_READ = 1;
    internal const int PROT_WRITE = 2;
    internal const int MAP_SHARED = 1;
    internal const int MAP_PRIVATE = 2;
    internal const int MAP_ANONYMOUS = 0x20;

    [LibraryImport("libc.so.6", EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc.so.6", EntryPoint = "munmap", SetLastError = true)]
    internal static partial int Munmap(nint address, nuint length);

    /// <summary>The calling thread's id (tests that run a program as a given thread).</summary>
    [LibraryImport("libc.so.6", EntryPoint = "gettid")]
    internal static partial int GetTid();
}
