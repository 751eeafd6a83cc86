using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// The selected tracepoint fields with their tracepoint ids: opens groups for CPUs or threads,
/// and drops children whose filter this kernel rejects (on the first group opened).
/// </summary>
internal sealed class TracepointCounterSet
{
    private TracepointFields _fields;
    private readonly List<int> _ids;
    private readonly Action<string>? _verbose;
    private readonly CounterDescriptors _descriptors;

    internal TracepointCounterSet(Tracefs tracefs, IReadOnlyList<TracepointField> fields, CounterDescriptors descriptors, Action<string>? verbose)
    {
        _verbose = verbose;
        _descriptors = descriptors;
        _ids = new List<int>(fields.Count);
        _fields = fields as TracepointFields ?? new TracepointFields(fields);
        var idCache = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (TracepointField field in _fields)
        {
            if (!idCache.TryGetValue(field.Tracepoint, out int id))
            {
                id = tracefs.ReadId(field.Tracepoint);
                idCache[field.Tracepoint] = id;
            }
            _ids.Add(id);
        }
    }

    internal TracepointFields Fields => _fields;

    private bool _validated;

    /// <summary>Opens and enables a group on one CPU; null when that CPU is offline.</summary>
    internal PerfCounterGroup? TryOpenForCpu(int cpu) => TryOpen(pid: -1, cpu);

    /// <summary>Opens and enables a group on one thread; null when the thread exited meanwhile.</summary>
    internal PerfCounterGroup? TryOpenForThread(int tid) => TryOpen(tid, cpu: -1);

    /// <summary>Throws a plain-words error when the kernel refuses for any reason but a vanished target.</summary>
    private PerfCounterGroup? TryOpen(int pid, int cpu)
    {
        try
        {
            return Open(pid, cpu);
        }
        catch (PerfOpenException e) when (e.Errno is Interop.Errno.ESRCH or Interop.Errno.ENODEV)
        {
            return null;
        }
    }

    /// <summary>Makes room for <paramref name="groups"/> groups at once, with a message that names them.</summary>
    internal void Reserve(int groups, string where) =>
        _descriptors.EnsureRoom(groups * _fields.Count, $"counting {_fields.Count} fields on {where} ({groups * _fields.Count} counters)");

    /// <summary>A group no longer counted: its descriptors are closed in the background.</summary>
    internal void Release(PerfCounterGroup group) => _descriptors.Release(group.Descriptors);

    private PerfCounterGroup Open(int pid, int cpu)
    {
        _descriptors.EnsureRoom(_fields.Count, $"counting {_fields.Count} fields on one more thread");
        while (true)
        {
            try
            {
                PerfCounterGroup group = PerfCounterGroup.Open(_fields, _ids, pid, cpu);
                _descriptors.Track(group.Descriptors);
                int errno = group.Enable();
                if (errno != 0)
                {
                    Release(group);
                    throw new EnvironmentException($"cannot enable perf counters: {Interop.Errno.Describe(errno)}.",
                        "Check that perf events are enabled in this kernel (CONFIG_PERF_EVENTS), or count with BPF: --engine bpf.");
                }
                _validated = true;
                return group;
            }
            catch (PerfOpenException e) when (!_validated && e.FilterFailed && _fields.Count > 1)
            {
                // A reason this kernel's filter parser rejects: count without that child.
                _verbose?.Invoke($"filter {e.Field.Filter} rejected ({Interop.Errno.Describe(e.Errno)}); {e.Field.Name} left out");
                int index = _fields.ToList().IndexOf(e.Field);
                _fields = new TracepointFields(_fields.Where((_, i) => i != index));
                _ids.RemoveAt(index);
            }
            catch (PerfOpenException e) when (e.Errno is not (Interop.Errno.ESRCH or Interop.Errno.ENODEV))
            {
                throw Explain(e);
            }
        }
    }

    internal static KvmStatException Explain(PerfOpenException e) => e.Errno switch
    {
        Interop.Errno.EACCES or Interop.Errno.EPERM => new EnvironmentException(
            $"the kernel does not allow this user to count tracepoints (perf_event_open: {Interop.Errno.Describe(e.Errno)}).",
            "Run kvm_stat as root, or grant CAP_PERFMON, or lower kernel.perf_event_paranoid (sysctl -w kernel.perf_event_paranoid=-1)."),
        Interop.Errno.EMFILE or Interop.Errno.ENFILE => new EnvironmentException(
            $"too many open files while opening counter {e.Field.Name} ({Interop.Errno.Describe(e.Errno)}).", FileLimit.FixFor(e.Errno)),
        Interop.Errno.ENOENT or Interop.Errno.EINVAL or Interop.Errno.ENODEV or Interop.Errno.EOPNOTSUPP => new EnvironmentException(
            $"the kernel refused to count tracepoint {e.Field.Tracepoint} ({Interop.Errno.Describe(e.Errno)}).",
            "Check that perf events are enabled in this kernel (CONFIG_PERF_EVENTS), or use -d for debugfs statistics."),
        _ => new EnvironmentException($"cannot open a perf counter for {e.Field.Name}: {Interop.Errno.Describe(e.Errno)}."),
    };
}
