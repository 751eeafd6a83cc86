using System.Runtime.InteropServices;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The exit reasons of the BPF engine's vCPU threads (--vcpus; the map <see cref="ThreadProgram.Reasons"/>):
/// every entry read at each capture, a few system calls for the whole table, and found by thread
/// row. A row's entries leave the table when its thread gives the row back, so the next thread of
/// the row starts from none. The entry of row 0 counts the reasons no entry was left for.
/// </summary>
internal sealed class BpfThreadReasons
{
    // Entries a system call reads at most: the kernel's buffer for a call stays small.
    private const int Batch = 8192;
    private readonly BpfMap _map;
    private readonly byte[] _keys;
    private readonly byte[] _values;
    // Per capture, a list per row through the entries read: no allocation, whatever the table holds.
    private readonly int[] _firstOfRow;
    private readonly int[] _next;
    private int _count;
    private int _inUse;

    internal BpfThreadReasons(BpfTable table)
    {
        _map = table.Maps[ThreadProgram.Reasons];
        _keys = new byte[_map.MaxEntries * 8];
        _values = new byte[_map.MaxEntries * 8];
        _next = new int[_map.MaxEntries];
        _firstOfRow = new int[table.Layout.Threads + 1];
    }

    /// <summary>Exits whose reason could not be counted per vCPU (no entry was left), since the start; their tracepoint's count has them.</summary>
    internal long Lost { get; private set; }

    /// <summary>Entries in use since the last capture, the entry of the lost included (for tests of what stays bounded).</summary>
    internal int InUse => _inUse;

    /// <summary>Reads every entry.</summary>
    internal void Read()
    {
        Array.Fill(_firstOfRow, -1);
        _count = 0;
        ulong cursor = 0;
        bool first = true, done = false;
        // Entries made while the table is read can pass its size: the rest waits for the next capture.
        while (!done && _count < _next.Length)
        {
            int room = Math.Min(Batch, _next.Length - _count);
            (int read, done) = _map.LookupBatch(ref cursor, first, _keys.AsSpan(_count * 8, room * 8), _values.AsSpan(_count * 8, room * 8));
            first = false;
            _count += read;
            if (read == 0)
                break;
        }
        _inUse = _count;
        for (int i = 0; i < _count; i++)
        {
            (int row, _) = KeyOf(i);
            if (row == 0)
                Lost = ValueOf(i);
            else if (row < _firstOfRow.Length)
            {
                _next[i] = _firstOfRow[row];
                _firstOfRow[row] = i;
            }
        }
    }

    /// <summary>A row's reasons, as the last <see cref="Read"/> found them, into its thread's counts (by field).</summary>
    internal void Apply(int row, long[] totals)
    {
        for (int i = _firstOfRow[row]; i >= 0; i = _next[i])
        {
            (_, int field) = KeyOf(i);
            if (field < totals.Length)
                totals[field] = ValueOf(i);
        }
    }

    /// <summary>A row whose thread's last counts have been read: its entries leave the table.</summary>
    internal void Forget(int row)
    {
        for (int i = _firstOfRow[row]; i >= 0; i = _next[i])
        {
            ulong key = MemoryMarshal.Read<ulong>(_keys.AsSpan(i * 8));
            int result = _map.Delete(BpfMap.Key(ref key));
            if (result != 0 && result != -Interop.Errno.ENOENT)
                throw new BpfException("removing a vCPU thread's exit reasons from the BPF table", -result);
            _inUse--;
        }
        _firstOfRow[row] = -1;
    }

    // The key is { u32 row; u32 field }, as the program stores them: in the host's byte order.
    private (int Row, int Field) KeyOf(int i) => ((int)MemoryMarshal.Read<uint>(_keys.AsSpan(i * 8)), (int)MemoryMarshal.Read<uint>(_keys.AsSpan(i * 8 + 4)));

    private long ValueOf(int i) => MemoryMarshal.Read<long>(_values.AsSpan(i * 8));
}
