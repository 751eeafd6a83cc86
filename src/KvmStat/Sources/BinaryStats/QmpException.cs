using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>A QMP socket that cannot be used, in plain words; what the peer said is cut to a few hundred characters.</summary>
internal sealed class QmpException(string path, string problem, string? fix = null)
    : EnvironmentException($"QMP socket {Text.Escape(path)} {Text.EscapeControls(problem.Length <= MaxProblem ? problem : problem[..MaxProblem] + "...")}.", fix)
{
    /// <summary>The longest problem told (a peer's error text can be anything).</summary>
    internal const int MaxProblem = 200;

    internal string? ErrorClass { get; init; }
}
