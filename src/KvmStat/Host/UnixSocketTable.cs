using System.Globalization;

namespace KvmStat.Host;

/// <summary>
/// The listening unix sockets of the host by path, from /proc/net/unix ("Num RefCount Protocol
/// Flags Type St Inode Path"): which socket inodes listen on a path. A path is whatever a process
/// bound, newlines included, so a line may be forged by a socket's name; an entry only says which
/// inode to look for among a process's own descriptors, and the peer is checked after connecting.
/// </summary>
internal sealed class UnixSocketTable
{
    private const int AcceptingConnections = 0x10000; // __SO_ACCEPTCON: listen() was called

    private readonly Dictionary<string, List<ulong>> _listening = new(StringComparer.Ordinal);

    private UnixSocketTable()
    {
    }

    /// <summary>The table now, or null when it cannot be read.</summary>
    internal static UnixSocketTable? Read(HostPaths paths)
    {
        string? text = SysFile.TryReadText(paths.UnixSockets, maxBytes: 64 << 20);
        return text is null ? null : Parse(text);
    }

    /// <summary>
    /// The table of a process's network namespace (/proc/PID/net/unix): the one its sockets are in,
    /// whichever namespace this tool runs in. Null when it cannot be read.
    /// </summary>
    internal static UnixSocketTable? Read(HostPaths paths, int pid)
    {
        string? text = SysFile.TryReadText(Path.Join(paths.ProcessDir(pid), "net", "unix"), maxBytes: 64 << 20);
        return text is null ? null : Parse(text);
    }

    internal static UnixSocketTable Parse(string text)
    {
        var table = new UnixSocketTable();
        foreach (string line in text.Split('\n'))
        {
            string[] parts = line.Split(' ', 8, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 8 || !parts[0].EndsWith(':')
                || !int.TryParse(parts[3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int flags)
                || !ulong.TryParse(parts[6], NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode)
                || (flags & AcceptingConnections) == 0)
                continue;
            string path = parts[7];
            if (!table._listening.TryGetValue(path, out List<ulong>? inodes))
                table._listening[path] = inodes = [];
            inodes.Add(inode);
        }
        return table;
    }

    /// <summary>The inodes of the sockets listening on <paramref name="path"/> (as it was bound).</summary>
    internal IReadOnlyList<ulong> ListeningOn(string path) =>
        _listening.TryGetValue(path, out List<ulong>? inodes) ? inodes : [];
}
