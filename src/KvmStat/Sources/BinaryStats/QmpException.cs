using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>A QMP socket that cannot be used, in plain words.</summary>
internal sealed class QmpException(string path, string problem, string? fix = null)
    : EnvironmentException($"QMP socket {Text.Escape(path)} {Text.EscapeControls(problem)}.", fix)
{
    internal string? ErrorClass { get; init; }
}
