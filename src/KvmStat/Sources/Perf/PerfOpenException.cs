using System.Runtime.InteropServices;
using System.Text;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>perf_event_open or its filter failed for one field.</summary>
internal sealed class PerfOpenException(int errno, TracepointField field, int pid, int cpu, bool filterFailed = false)
    : Exception($"perf_event_open({field.Name}, pid {pid}, cpu {cpu}): {Interop.Errno.Describe(errno)}")
{
    internal int Errno { get; } = errno;
    internal TracepointField Field { get; } = field;
    internal int Pid { get; } = pid;
    internal int Cpu { get; } = cpu;
    internal bool FilterFailed { get; } = filterFailed;
}
