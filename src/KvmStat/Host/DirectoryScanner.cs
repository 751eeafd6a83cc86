using System.Text;

namespace KvmStat.Host;

/// <summary>
/// Lists a directory with getdents64 into a reused buffer and turns each entry name into a
/// number (a thread id, a debugfs "PID-FD" folder), so rescans on every refresh do not allocate.
/// </summary>
internal sealed class DirectoryScanner
{
    private readonly byte[] _pathZ;
    private readonly byte[] _buffer = new byte[8192];
    private readonly int _directory;

    /// <param name="directory">An open directory <paramref name="path"/> is relative to (a process's /proc folder, which stays that process's); by default the working directory.</param>
    internal DirectoryScanner(string path, int? directory = null)
    {
        Path = path;
        _pathZ = Interop.NulTerminated(path);
        _directory = directory ?? Interop.Abi.AT_FDCWD;
    }

    internal string Path { get; }

    /// <summary>
    /// Fills <paramref name="keys"/> (sorted) with <paramref name="parse"/> of each entry name,
    /// skipping names it maps to a negative number. Returns 0, or the errno of a failed open or read.
    /// </summary>
    internal int TryScan(List<long> keys, Func<ReadOnlySpan<byte>, long> parse) => TryScan(keys, parse, s_addKey);

    /// <summary>
    /// As <see cref="TryScan(List{long}, Func{ReadOnlySpan{byte}, long})"/>, each key with its entry's
    /// inode: an entry removed and made again under the same name (a debugfs folder) is another inode.
    /// </summary>
    internal int TryScan(List<(long Key, ulong Inode)> entries, Func<ReadOnlySpan<byte>, long> parse) => TryScan(entries, parse, s_addEntry);

    private static readonly Action<List<long>, long, ulong> s_addKey = (keys, key, _) => keys.Add(key);
    private static readonly Action<List<(long, ulong)>, long, ulong> s_addEntry = (entries, key, inode) => entries.Add((key, inode));

    private int TryScan<T>(List<T> into, Func<ReadOnlySpan<byte>, long> parse, Action<List<T>, long, ulong> add)
    {
        into.Clear();
        int fd = Interop.Libc.OpenAt(_directory, _pathZ, Interop.Abi.O_RDONLY | Interop.Abi.O_DIRECTORY | Interop.Abi.O_CLOEXEC);
        if (fd < 0)
            return -fd;
        try
        {
            while (true)
            {
                nint n = Interop.Libc.GetDents64(fd, _buffer);
                if (n < 0)
                    return (int)-n;
                if (n == 0)
                    break;
                ParseEntries(_buffer.AsSpan(0, (int)n), into, parse, add);
            }
        }
        finally
        {
            // A close of a descriptor only read from cannot lose anything.
            _ = Interop.Libc.Close(fd);
        }
        into.Sort();
        return 0;
    }

    internal static void ParseEntries(ReadOnlySpan<byte> entries, List<long> keys, Func<ReadOnlySpan<byte>, long> parse) =>
        ParseEntries(entries, keys, parse, s_addKey);

    private static void ParseEntries<T>(ReadOnlySpan<byte> entries, List<T> into, Func<ReadOnlySpan<byte>, long> parse, Action<List<T>, long, ulong> add)
    {
        while (NextEntry(ref entries, out ReadOnlySpan<byte> name, out ulong inode))
        {
            long key = parse(name);
            if (key >= 0)
                add(into, key, inode);
        }
    }

    /// <summary>
    /// The name of the next entry of a getdents64 buffer, which it leaves behind; false at the end,
    /// or at a record that does not fit (then <paramref name="entries"/> still holds it).
    /// </summary>
    internal static bool NextName(ref ReadOnlySpan<byte> entries, out ReadOnlySpan<byte> name) => NextEntry(ref entries, out name, out _);

    private static bool NextEntry(ref ReadOnlySpan<byte> entries, out ReadOnlySpan<byte> name, out ulong inode)
    {
        name = default;
        inode = 0;
        if (entries.Length <= Interop.Abi.DirentNameOffset)
            return false;
        int length = BitConverter.ToUInt16(entries.Slice(Interop.Abi.DirentRecLenOffset, 2));
        if (length <= Interop.Abi.DirentNameOffset || length > entries.Length)
            return false;
        inode = BitConverter.ToUInt64(entries.Slice(Interop.Abi.DirentInodeOffset, 8));
        name = entries[Interop.Abi.DirentNameOffset..length];
        int end = name.IndexOf((byte)0);
        if (end >= 0)
            name = name[..end];
        entries = entries[length..];
        return true;
    }

    /// <summary>A decimal number from 0 such as a descriptor, or -1.</summary>
    internal static long ParseNonNegative(ReadOnlySpan<byte> digits) =>
        digits is [(byte)'0'] ? 0 : ParsePositive(digits);

    /// <summary>A positive decimal number such as a thread id, or -1.</summary>
    internal static long ParsePositive(ReadOnlySpan<byte> digits)
    {
        if (digits.IsEmpty || digits.Length > 18)
            return -1;
        long value = 0;
        foreach (byte b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9')
                return -1;
            value = value * 10 + (b - '0');
        }
        return value > 0 ? value : -1;
    }
}
