namespace KvmStat.Guests;

/// <summary>
/// The guest names of the VMs one record (or scrape) shows: each looked up once while its VM is
/// shown, and forgotten with it at the end of the first round that does not show it, so that
/// thousands of VMs coming and going leave nothing behind and a round costs no /proc read per VM.
/// </summary>
internal sealed class VmNames(Func<int, string?>? nameOf)
{
    private Dictionary<int, string> _names = [], _next = [];

    /// <summary>VMs whose names are kept (for tests of what stays bounded).</summary>
    internal int Count => _names.Count;

    /// <summary>The name of a VM this round shows ("" without one).</summary>
    internal string Of(int pid)
    {
        if (!_next.TryGetValue(pid, out string? name))
        {
            if (!_names.TryGetValue(pid, out name))
                name = nameOf?.Invoke(pid) ?? "";
            _next[pid] = name;
        }
        return name;
    }

    /// <summary>Ends a round: only the names it used are kept.</summary>
    internal void EndRound()
    {
        (_names, _next) = (_next, _names);
        _next.Clear();
    }
}
