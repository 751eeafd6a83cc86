using KvmStat.Guests;
using KvmStat.Host;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// --qmp auto: the QMP unix sockets named on running QEMU command lines: "-qmp unix:PATH,..."
/// (or -qmp-pretty), and "-chardev socket,id=ID,path=PATH,..." used by "-mon chardev=ID,mode=control".
/// A monitor passed as a descriptor (fd=N, as libvirt does) has no path and cannot be reached.
/// <para>
/// Any user can start a process whose command line contains "qemu" and names any path, another
/// root service's socket for example, and answer QMP under any guest name. So a process counts as
/// a QEMU only if it holds a KVM VM descriptor itself (anon_inode:kvm-vm), and a path counts only
/// if that process listens on it itself:
/// a socket listening on that path (the process's own /proc/PID/net/unix, so that a tool in
/// another network namespace, as under systemd's PrivateNetwork=, sees QEMU's sockets) is one of
/// that process's own descriptors. The connection then checks that its peer is that process before
/// it sends anything.
/// </para>
/// </summary>
internal static class QmpSocketDiscovery
{
    /// <summary>
    /// The sockets the QEMUs among the VM processes <paramref name="vms"/> (the run's list, so other
    /// processes cost nothing) listen on; those that fail a check are named to <paramref name="skipped"/>.
    /// </summary>
    internal static IReadOnlyList<(int Pid, string Path)> Find(HostPaths paths, IReadOnlyList<int> vms, Action<string>? skipped = null)
    {
        var finder = new GuestFinder(paths);
        var found = new List<(int, string)>();
        // One table per network namespace: QEMUs usually share the host's.
        var tables = new Dictionary<string, UnixSocketTable?>(StringComparer.Ordinal);
        foreach (int pid in vms)
        {
            string? cmdline = finder.ReadCmdline(pid);
            if (cmdline is null || !cmdline.Contains("qemu", StringComparison.Ordinal))
                continue;
            IReadOnlyList<string> named = FromCmdline(cmdline.Split('\0'));
            if (named.Count == 0)
                continue;
            // Its own descriptor, not a debugfs folder of its pid: a pid can be another's after the VM's creator exited.
            if (finder.HoldsVmDescriptor(pid) != true)
            {
                skipped?.Invoke($"QMP sockets named by process {pid}: skipped, that process holds no KVM VM");
                continue;
            }
            UnixSocketTable? sockets = SocketsSeenBy(paths, pid, tables);
            HashSet<ulong> own = OwnSocketInodes(finder, pid);
            foreach (string path in named.Take(MaxSocketsPerProcess))
            {
                if (sockets is null)
                {
                    skipped?.Invoke($"QMP socket {Text.Escape(path)} of process {pid}: skipped, its unix sockets (/proc/{pid}/net/unix) cannot be read to check who listens on it");
                    continue;
                }
                if (!sockets.ListeningOn(path).Any(own.Contains))
                {
                    skipped?.Invoke($"QMP socket {Text.Escape(path)} named by process {pid}: skipped, that process does not listen on it");
                    continue;
                }
                if (!path.StartsWith('/'))
                {
                    // Bound relative to QEMU's working directory: reach it through that directory.
                    found.Add((pid, Path.Join(paths.ProcessDir(pid), "cwd", path)));
                    continue;
                }
                found.Add((pid, path));
            }
        }
        found.Sort();
        return found;
    }

    /// <summary>
    /// Where to connect to a socket a QEMU listens on: through that process's own root
    /// (/proc/PID/root), so that a socket in its /tmp or /home is reached from a tool whose own
    /// are private (systemd's PrivateTmp=, ProtectHome=); the plain path when that would be too
    /// long for a socket address. The peer is checked (SO_PEERCRED) all the same.
    /// </summary>
    internal static string Reach(HostPaths paths, int pid, string path)
    {
        if (!path.StartsWith('/'))
            return path;
        string via = Path.Join(paths.ProcessDir(pid), "root", path);
        return System.Text.Encoding.UTF8.GetByteCount(via) < MaxSocketPath ? via : path;
    }

    /// <summary>sun_path's size, with its NUL.</summary>
    internal const int MaxSocketPath = 108;

    /// <summary>The most QMP sockets taken from one process (QEMU has one or two).</summary>
    private const int MaxSocketsPerProcess = 4;

    /// <summary>The listening unix sockets of a process's network namespace, read once per namespace.</summary>
    private static UnixSocketTable? SocketsSeenBy(HostPaths paths, int pid, Dictionary<string, UnixSocketTable?> tables)
    {
        string namespaceLink;
        try
        {
            namespaceLink = new FileInfo(Path.Join(paths.ProcessDir(pid), "ns", "net")).LinkTarget ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone, or not readable: the process's own table is read below, under a key of its own.
            namespaceLink = "";
        }
        string key = namespaceLink.Length > 0 ? namespaceLink : $"pid {pid}";
        if (!tables.TryGetValue(key, out UnixSocketTable? table))
            tables[key] = table = UnixSocketTable.Read(paths, pid);
        return table;
    }

    /// <summary>The inodes of a process's socket descriptors (links "socket:[INODE]").</summary>
    private static HashSet<ulong> OwnSocketInodes(GuestFinder finder, int pid)
    {
        var inodes = new HashSet<ulong>();
        foreach ((_, string link) in finder.DescriptorLinks(pid) ?? [])
        {
            if (link.StartsWith("socket:[", StringComparison.Ordinal) && link.EndsWith(']')
                && ulong.TryParse(link.AsSpan(8, link.Length - 9), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong inode))
                inodes.Add(inode);
        }
        return inodes;
    }

    /// <summary>The QMP socket paths of one QEMU command line (argv).</summary>
    internal static IReadOnlyList<string> FromCmdline(IReadOnlyList<string> argv)
    {
        var sockets = new List<string>();
        var chardevPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        var controlMonitors = new List<string>();
        for (int i = 0; i + 1 < argv.Count; i++)
        {
            string option = argv[i].StartsWith("--", StringComparison.Ordinal) ? argv[i][1..] : argv[i];
            string value = argv[i + 1];
            switch (option)
            {
                case "-qmp":
                case "-qmp-pretty":
                    if (value.StartsWith("unix:", StringComparison.Ordinal))
                        sockets.Add(GuestName.SplitOptions(value["unix:".Length..])[0]);
                    i++;
                    break;
                case "-chardev":
                    List<string> items = GuestName.SplitOptions(value);
                    if (items[0] == "socket" && Value(items, "id") is string id && Value(items, "path") is string path)
                        chardevPaths[id] = path;
                    i++;
                    break;
                case "-mon":
                    List<string> monitor = GuestName.SplitOptions(value);
                    if (Value(monitor, "mode") == "control" && Value(monitor, "chardev") is string chardev)
                        controlMonitors.Add(chardev);
                    i++;
                    break;
            }
        }
        foreach (string chardev in controlMonitors)
        {
            if (chardevPaths.TryGetValue(chardev, out string? path))
                sockets.Add(path);
        }
        return sockets;
    }

    private static string? Value(List<string> items, string key)
    {
        foreach (string item in items)
        {
            if (item.Length > key.Length && item[key.Length] == '=' && item.StartsWith(key, StringComparison.Ordinal))
                return item[(key.Length + 1)..];
        }
        return null;
    }
}
