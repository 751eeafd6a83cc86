using KvmStat.Sources;

namespace KvmStat.Sources.Debugfs;

/// <summary>
/// One VM's debugfs folder (PID-FD): the last value of each selected statistic, and the baseline
/// its counters count from. Reading opens the folder, then each file relative to it.
/// </summary>
internal sealed class VmFolder
{
    private readonly byte[] _pathZ;
    private readonly long[] _current;
    private readonly long[] _baseline;

    internal VmFolder(long key, ulong inode, string path, int fieldCount)
    {
        Key = key;
        Inode = inode;
        _pathZ = Interop.NulTerminated(path);
        _current = new long[fieldCount];
        _baseline = new long[fieldCount];
    }

    /// <summary>pid &lt;&lt; 32 | fd, as <see cref="Guests.VmFolderName.Parse"/> gives it.</summary>
    internal long Key { get; }

    /// <summary>The folder's inode: a VM made under a dead one's folder name has another.</summary>
    internal ulong Inode { get; }

    internal int Pid => (int)(Key >> 32);

    /// <summary>Which process under its pid it belongs to (0 until its first per-VM read).</summary>
    internal long Instance { get; set; }

    /// <summary>Seen for the first time at this refresh: its baseline is set once it has been read.</summary>
    internal bool IsNew { get; set; } = true;

    /// <summary>
    /// A statistic whose file held no number this tool reads (EINVAL, or ERANGE beyond a signed
    /// 64-bit count), and that errno, from the last read; (-1, 0) for none. It keeps its last value.
    /// </summary>
    internal (int Field, int Errno) Unreadable { get; private set; } = (-1, 0);

    /// <summary>Its unreadable statistic has been said (once a folder).</summary>
    internal bool Said { get; set; }

    /// <summary>Reads every file; one that cannot be read (the VM went away, or no number) keeps its last value.</summary>
    internal void Read(StatFileReader reader, byte[][] namesZ)
    {
        int directory = Interop.Libc.Open(_pathZ, Interop.Abi.O_PATH | Interop.Abi.O_DIRECTORY | Interop.Abi.O_CLOEXEC);
        if (directory < 0)
            return;
        try
        {
            for (int i = 0; i < namesZ.Length; i++)
            {
                int errno = reader.TryReadInt64(directory, namesZ[i], out long value);
                if (errno == 0)
                    _current[i] = value;
                else if (errno is Interop.Errno.EINVAL or Interop.Errno.ERANGE)
                    Unreadable = (i, errno);
            }
        }
        finally
        {
            // A close of a descriptor only read from cannot lose anything.
            _ = Interop.Libc.Close(directory);
        }
    }

    internal void SetBaselineToCurrent() => _current.CopyTo(_baseline, 0);

    internal void ClearBaseline() => Array.Clear(_baseline);

    internal void AddTo(Span<long> values, StatField[] fields, bool countersOnly = false)
    {
        for (int i = 0; i < _current.Length; i++)
        {
            if (fields[i].Kind == StatKind.Counter)
                values[i] += _current[i] - _baseline[i];
            else if (!countersOnly)
                values[i] += _current[i];
        }
    }
}
