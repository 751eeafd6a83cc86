using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// What a --doctor run was asked, beside --doctor: the engine a run would count with (--engine),
/// the VM it would watch (-p/-g), whether it would time exits (--latency), the web configuration it
/// would serve with (--web-config-file), the fields it would keep (-f) and give each guest
/// (--guest-fields), and the options given that
/// do not change what it checks.
/// </summary>
internal sealed record DoctorRequest(TracepointEngineChoice Engine, int Pid, string? Guest, IReadOnlyList<string> Unused)
{
    /// <summary>The options --doctor takes; the others it names as not changing its checks.</summary>
    internal static readonly string[] Taken = ["--doctor", "--engine", "--pid", "--guest", "--latency", "--vcpus", "--web-config-file", "--fields", "--guest-fields"];

    /// <summary>Every source, the engine a run would choose, every VM.</summary>
    internal static DoctorRequest Host { get; } = new(TracepointEngineChoice.Auto, 0, null, []);

    /// <summary>--latency: a run would time exits (with --engine perf it stops).</summary>
    internal bool Latency { get; init; }

    /// <summary>--vcpus: a run's table has a row per vCPU thread too.</summary>
    internal bool Vcpus { get; init; }

    /// <summary>--web-config-file: the file a run would load, and stop on where it is broken.</summary>
    internal string? WebConfigFile { get; init; }

    /// <summary>-f: the fields a run would keep; null without -f (every field).</summary>
    internal FieldFilter? Fields { get; init; }

    /// <summary>--guest-fields: the fields a run would give each guest; null without it (every field).</summary>
    internal FieldFilter? GuestFields { get; init; }

    /// <param name="given">Each option on the command line: its name, and what was typed for it (-s for --set-delay).</param>
    internal static DoctorRequest Of(Options options, IEnumerable<(string Name, string Typed)> given) =>
        new(options.Engine, options.Pid, options.Guest, [.. given.Where(g => !Taken.Contains(g.Name)).Select(g => g.Typed).Distinct()])
        {
            Latency = options.Latency,
            Vcpus = options.Vcpus,
            WebConfigFile = options.WebConfigFile,
            Fields = options.Fields is string pattern ? FieldFilter.Create(pattern) : null,
            GuestFields = options.GuestFields is string guestPattern ? FieldFilter.Create(guestPattern) : null,
        };
}
