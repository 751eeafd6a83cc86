using System.Runtime.InteropServices;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// An array map's values mapped into this process (shared with the kernel): 64-bit words that
/// programs add to atomically while this process reads them. Unmapped once, by Dispose or, if
/// that is forgotten, by the finalizer.
/// </summary>
internal sealed class BpfMapping : SafeHandle
{
    private readonly nuint _length;

    internal BpfMapping(nint address, nuint length)
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
        SetHandle(address);
        _length = length;
    }

    public override bool IsInvalid => handle == 0;

    internal static long PageAligned(long bytes) => (bytes + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;

    /// <summary>The words of the mapping (valid while it is held).</summary>
    internal unsafe Span<long> Words => new((void*)handle, (int)(_length / 8));

    /// <summary>Reads one word as the programs last left it.</summary>
    internal unsafe long Read(long word) => Volatile.Read(ref ((long*)handle)[word]);

    internal unsafe void Write(long word, long value) => Volatile.Write(ref ((long*)handle)[word], value);

    /// <summary>Adds to a word atomically, as the programs do.</summary>
    internal unsafe long Add(long word, long value) => Interlocked.Add(ref ((long*)handle)[word], value);

    protected override bool ReleaseHandle() => Interop.Libc.Unmap(handle, _length) == 0;
}
