using System.Runtime.InteropServices;
using System.Text;

namespace KvmStat.Sources.Bpf;

/// <summary>A BPF map this process created (its descriptor owned), with element access from user space.</summary>
internal sealed class BpfMap : IDisposable
{
    private readonly Interop.FileDescriptor _fd;

    private BpfMap(Interop.FileDescriptor fd, int keySize, int valueSize, int maxEntries)
    {
        _fd = fd;
        KeySize = keySize;
        ValueSize = valueSize;
        MaxEntries = maxEntries;
    }

    internal int Descriptor => _fd.Number;

    internal int KeySize { get; }

    internal int ValueSize { get; }

    internal int MaxEntries { get; }

    internal static unsafe BpfMap Create(uint type, int keySize, int valueSize, int maxEntries, string name)
    {
        var attr = new Interop.Bpf.MapCreateAttr
        {
            MapType = type,
            KeySize = (uint)keySize,
            ValueSize = (uint)valueSize,
            MaxEntries = (uint)maxEntries,
        };
        int length = Math.Min(Encoding.ASCII.GetByteCount(name), 15);
        Encoding.ASCII.GetBytes(name.AsSpan(0, length), new Span<byte>(attr.MapName, 16));
        int fd = Interop.Bpf.Call(Interop.Abi.BPF_MAP_CREATE, ref attr);
        if (fd < 0)
            throw new BpfException($"creating the BPF map {name}", -fd);
        return new BpfMap(new Interop.FileDescriptor(fd), keySize, valueSize, maxEntries);
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
    /// Reads up to <c>keys.Length / KeySize</c> elements from the start of the map in one call;
    /// returns how many, or -errno. All of a map that fits is read with one call (ENOENT at its end).
    /// </summary>
    internal unsafe int LookupAll(Span<byte> keys, Span<byte> values)
    {
        ulong next = 0;
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            var attr = new Interop.Bpf.BatchAttr
            {
                OutBatch = (ulong)&next,
                Keys = (ulong)k,
                Values = (ulong)v,
                Count = (uint)(keys.Length / KeySize),
                MapFd = (uint)Descriptor,
            };
            int result = Interop.Bpf.Call(Interop.Abi.BPF_MAP_LOOKUP_BATCH, ref attr);
            // ENOENT: the end of the map was reached, and Count says how many elements came.
            return result == 0 || result == -Interop.Errno.ENOENT ? (int)attr.Count : result;
        }
    }

    internal static ReadOnlySpan<byte> Key(ref uint value) => MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(ref value));

    public void Dispose() => _fd.Dispose();
}
