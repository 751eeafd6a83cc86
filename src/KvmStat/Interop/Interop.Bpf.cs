using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>bpf(2), which has no libc wrapper, and the parts of union bpf_attr the tool passes.</summary>
    internal static partial class Bpf
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        private static unsafe partial long Syscall(long number, int command, void* attr, uint size);

        /// <summary>bpf(2): its result (a descriptor, 0, ...) or -errno.</summary>
        internal static unsafe int Call<T>(int command, ref T attr)
            where T : unmanaged
        {
            fixed (T* p = &attr)
            {
                long result;
                do
                    result = Syscall(Abi.SYS_bpf, command, p, (uint)sizeof(T));
                while (Errno.Interrupted(ref result));
                return (int)result;
            }
        }

        /// <summary>BPF_MAP_CREATE's part of union bpf_attr.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct MapCreateAttr
        {
            internal uint MapType;
            internal uint KeySize;
            internal uint ValueSize;
            internal uint MaxEntries;
            internal uint MapFlags;
            internal uint InnerMapFd;
            internal uint NumaNode;
            internal fixed byte MapName[16];
        }

        /// <summary>BPF_PROG_LOAD's part of union bpf_attr.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct ProgLoadAttr
        {
            internal uint ProgType;
            internal uint InsnCount;
            internal ulong Insns;
            internal ulong License;
            internal uint LogLevel;
            internal uint LogSize;
            internal ulong LogBuffer;
            internal uint KernelVersion;
            internal uint ProgFlags;
            internal fixed byte ProgName[16];
            internal uint ProgIfIndex;
            internal uint ExpectedAttachType;
        }

        /// <summary>The map element commands' part of union bpf_attr.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct MapElemAttr
        {
            internal uint MapFd;
            private readonly uint _padding;
            internal ulong Key;
            internal ulong Value;
            internal ulong Flags;
        }

        /// <summary>BPF_MAP_LOOKUP_BATCH's part of union bpf_attr.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct BatchAttr
        {
            internal ulong InBatch;
            internal ulong OutBatch;
            internal ulong Keys;
            internal ulong Values;
            internal uint Count;
            internal uint MapFd;
            internal ulong ElemFlags;
            internal ulong Flags;
        }

        /// <summary>BPF_RAW_TRACEPOINT_OPEN's part of union bpf_attr.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct RawTracepointAttr
        {
            internal ulong Name;
            internal uint ProgFd;
            private readonly uint _padding;
        }

        /// <summary>BPF_PROG_TEST_RUN's part of union bpf_attr (runs a program once on a context the caller gives).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct TestRunAttr
        {
            internal uint ProgFd;
            internal uint ReturnValue;
            internal uint DataSizeIn;
            internal uint DataSizeOut;
            internal ulong DataIn;
            internal ulong DataOut;
            internal uint Repeat;
            internal uint Duration;
            internal uint ContextSizeIn;
            internal uint ContextSizeOut;
            internal ulong ContextIn;
            internal ulong ContextOut;
            internal uint Flags;
            internal uint Cpu;
            internal uint BatchSize;
            private readonly uint _padding;
        }
    }
}
