namespace KvmStat.Tui;

/// <summary>
/// The screen's keys as its help ('h') lists them, in the reference's words. The same lines go into
/// -h and the manual page, so the three never disagree.
/// </summary>
internal static class InteractiveCommands
{
    internal static readonly (char Key, string Meaning)[] Keys =
    [
        ('b', "toggle events by guests (honors filters)"),
        ('c', "clear filter"),
        ('f', "filter by regular expression"),
        ('g', "filter by guest name/PID"),
        ('h', "display interactive commands reference"),
        ('l', "toggle exit latencies by reason (p50/p90/p99, share of time)"),
        ('o', "toggle sorting order (Total vs CurAvg/s)"),
        ('p', "filter by guest name/PID"),
        ('q', "quit"),
        ('r', "reset stats"),
        ('s', $"set delay between refreshs (value range: {Stats.SampleInterval.Range} secs)"),
        ('x', "toggle reporting of stats for individual child trace events"),
    ];

    internal const string OtherKeys = "Any other key refreshes statistics immediately";

    /// <summary>The keys of the guest view and of the prompts, in lines that fit 80 columns.</summary>
    internal static readonly string[] OtherViews =
    [
        "In the guest view: Up/Down (PageUp/PageDown, Home/End) select a guest,",
        "Enter shows its events, x its vCPUs (with --vcpus).",
        "In a prompt: Enter applies, Escape cancels, Backspace and Ctrl-U erase.",
    ];

    /// <summary>"   b     toggle events by guests (honors filters)", one line per key.</summary>
    internal static IEnumerable<string> Lines() => Keys.Select(k => $"   {k.Key}     {k.Meaning}");
}
