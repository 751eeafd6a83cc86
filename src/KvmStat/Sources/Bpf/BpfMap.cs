using System.Runtime.InteropServices;
using System.Text;

namespace KvmStat.Sources.Bpf;

/// <summary>A BPF map this process created (its descriptor owned), with element access from user space.</summary>
internal sealed class BpfMap : IDisposable
{
    private readonly Interop.FileDescriptor _fd;

    private BpfMap(Interop.FileDescriptor fd, string name, int keySize, int valueSize, int maxEntries)
    {
        _fd = fd;
        Name = name;
        KeySize = keySize;
        ValueSize = valueSize;
        MaxEntries = maxEntries;
    }

    internal int Descriptor => _fd.Number;

    /// <summary>The name programs refer to it by (see <see cref="BpfCode"/>); the kernel keeps its first 15 bytes.</summary>
    internal string Name { get; }

    internal int KeySize { get; }

    internal int ValueSize { get; }

    internal int MaxEntries { get; }

    /// <param name="flags">BPF_F_* map flags (BPF_F_MMAPABLE: the array can be mapped into this process, see <see cref="MapMemory"/>).</param>
    internal static unsafe BpfMap Create(uint type, int keySize, int valueSize, int maxEntries, string name, uint flags = 0)
    {
        var attr = new Interop.Bpf.MapCreateAttr
        {
            MapType = type,
            KeySize = (uint)keySize,
            ValueSize = (uint)valueSize,
            MaxEntries = (uint)maxEntries,
            MapFlags = flags,
        };
        string kernelName = "kvm_stat_" + name;
        int length = Math.Min(Encoding.ASCII.GetByteCount(kernelName), 15);
        Encoding.ASCII.GetBytes(kernelName.AsSpan(0, length), new Span<byte>(attr.MapName, 16));
        int fd = Interop.Bpf.Call(Interop.Abi.BPF_MAP_CREATE, ref attr);
        if (fd < 0)
            throw new BpfException($"creating the BPF map {name} ({maxEntries} entries of {valueSize} bytes)", -fd);
        return new BpfMap(new Interop.FileDescriptor(fd), name, keySize, valueSize, maxEntries);
    }

    /// <summary>
    /// The values of an array created with BPF_F_MMAPABLE, mapped into this process: read and
    /// written in place, without a system call, while the programs update them.
    /// </summary>
    internal BpfMapping MapMemory()
    {
        nuint length = (nuint)BpfMapping.PageAligned((long)ValueSize * MaxEntries);
        nint address = Interop.Libc.MapShared(Descriptor, length, writable: true);
        if (address < 0)
            throw new BpfException($"mapping the BPF map {Name} into memory", (int)-address);
        return new BpfMapping(address, length);
    }

    /// <summary>What the kernel charges for the map ("memlock" in /proc/self/fdinfo), or -1 when it does not say.</summary>
    internal long ChargedBytes()
    {
        string? info = Host.SysFile.TryReadText($"/proc/self/fdinfo/{Descriptor}");
        foreach (string line in (info ?? "").Split('\n'))
        {
            if (line.StartsWith("memlock:", StringComparison.Ordinal) && long.TryParse(line.AsSpan(8).Trim(), out long bytes))
                return bytes;
        }
        return -1;
    }

    /// <summary>Looks a key up: 0 with the value (for per-CPU maps, one value per possible CPU), or -errno (-ENOENT: no such key).</summary>
    internal unsafe int Lookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new Interop.Bpf.MapElemAttr { MapFd = (uint)Descriptor, Key = (ulong)k, Value = (ulong)v };
            return Interop.Bpf.Call(Interop.Abi.BPF_MAP_LOOKUP_ELEM, ref attr);
        }
    }

    /// <summary>Sets a key's value (a queue takes an empty key: a push); 0 or -errno.</summary>
    internal unsafe int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new Interop.Bpf.MapElemAttr { MapFd = (uint)Descriptor, Key = key.IsEmpty ? 0 : (ulong)k, Value = (ulong)v, Flags = flags };
            return Interop.Bpf.Call(Interop.Abi.BPF_MAP_UPDATE_ELEM, ref attr);
        }
    }

    internal unsafe int Delete(ReadOnlySpan<byte> key)
    {
        fixed (byte* k = key)
        {
            var attr = new Interop.Bpf.MapElemAttr { MapFd = (uint)Descriptor, Key = (ulong)k };
            return Interop.Bpf.Call(Interop.Abi.BPF_MAP_DELETE_ELEM, ref attr);
        }
    }

    /// <summary>
    /// Reads up to <c>keys.Length / KeySize</c> elements of a hash map in one call, going on from
    /// <paramref name="cursor"/> (0 to start); returns how many, and whether the map's end was
    /// reached, or -errno. The cursor is the kernel's position token (a bucket).
    /// </summary>
    internal unsafe (int Count, bool Done) LookupBatch(ref ulong cursor, bool first, Span<byte> keys, Span<byte> values)
    {
        ulong next = 0;
        ulong start = cursor;
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            var attr = new Interop.Bpf.BatchAttr
            {
                InBatch = first ? 0 : (ulong)&start,
                OutBatch = (ulong)&next,
                Keys = (ulong)k,
                Values = (ulong)v,
                Count = (uint)(keys.Length / KeySize),
                MapFd = (uint)Descriptor,
            };
            int result = Interop.Bpf.Call(Interop.Abi.BPF_MAP_LOOKUP_BATCH, ref attr);
            cursor = next;
            // ENOENT: the end of the map was reached, and Count says how many elements came.
            if (result == -Interop.Errno.ENOENT)
                return ((int)attr.Count, true);
            if (result < 0)
                throw new BpfException($"reading the BPF map {Name}", -result);
            return ((int)attr.Count, false);
        }
    }

    internal static ReadOnlySpan<byte> Key(ref uint value) => MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(ref value));

    internal static ReadOnlySpan<byte> Key(ref ulong value) => MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(ref value));

    public void Dispose() => _fd.Dispose();
}
