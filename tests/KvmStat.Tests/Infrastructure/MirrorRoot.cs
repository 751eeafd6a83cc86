namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A root for KVM_STAT_ROOT that is this host (its tracefs events, /proc, CPU lists) with one
/// tracepoint's format file changed: real tracepoint ids and real counting, a kernel that says
/// something else about one record.
/// </summary>
internal sealed class MirrorRoot : IDisposable
{
    internal MirrorRoot(string tracepoint, Func<string, string> changeFormat)
    {
        Root = Directory.CreateTempSubdirectory("kvm_stat-mirror-").FullName;
        string events = Path.Join(Root, "sys/kernel/tracing/events/kvm");
        Directory.CreateDirectory(events);
        foreach (string real in Directory.EnumerateDirectories("/sys/kernel/tracing/events/kvm"))
        {
            string name = Path.GetFileName(real);
            if (name != tracepoint)
            {
                File.CreateSymbolicLink(Path.Join(events, name), real);
                continue;
            }
            Directory.CreateDirectory(Path.Join(events, name));
            File.WriteAllText(Path.Join(events, name, "id"), File.ReadAllText(Path.Join(real, "id")));
            string format = File.ReadAllText(Path.Join(real, "format"));
            string changed = changeFormat(format);
            Assert.NotEqual(format, changed);
            File.WriteAllText(Path.Join(events, name, "format"), changed);
        }
        Directory.CreateDirectory(Path.Join(Root, "sys/devices/system/cpu"));
        foreach (string list in new[] { "online", "possible" })
            File.CreateSymbolicLink(Path.Join(Root, "sys/devices/system/cpu", list), "/sys/devices/system/cpu/" + list);
        File.CreateSymbolicLink(Path.Join(Root, "proc"), "/proc");
    }

    internal string Root { get; }

    internal Dictionary<string, string> Environment => new() { ["KVM_STAT_ROOT"] = Root };

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
