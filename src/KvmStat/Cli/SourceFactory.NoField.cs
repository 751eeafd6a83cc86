using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>What a run whose -f keeps no field is told: the cause, and the fix that fits what -f names.</summary>
internal sealed partial class SourceFactory
{
    /// <summary>A run whose -f keeps no tracepoint field where only tracepoints are read.</summary>
    internal static UsageException NoTracepointField(FieldFilter filter, string fix) =>
        filter.TooSlow() ?? new($"no tracepoint field matches \"{Text.EscapeControls(filter.Pattern)}\".", fix);

    /// <summary>"3 fields (a, b, c)", the first few named.</summary>
    internal static string FieldNames(List<string> names) =>
        $"{names.Count} field{(names.Count == 1 ? "" : "s")} ({string.Join(", ", names.Take(6).Select(Text.Escape))}{(names.Count > 6 ? ", ..." : "")})";

    /// <summary>A child's name as -1 shows it, kvm_exit(HLT), which as a regular expression is a group and matches no field.</summary>
    private static readonly System.Text.RegularExpressions.Regex s_childName = new(@"\w\(\w+\)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>The fix for an -f that matches no field: where it names a child, how to escape it; where it names exit latencies, what they need.</summary>
    /// <param name="latency">--latency was given: the latencies it names were still not there.</param>
    internal static string NoFieldFix(FieldFilter filter, bool latency = false) =>
        s_childName.IsMatch(filter.Pattern)
            ? $"-f is a regular expression, where ( and ) group: to name a child as kvm_stat -1 shows it, escape them: -f '{System.Text.RegularExpressions.Regex.Escape(filter.Pattern)}'"
        : filter.Pattern.Contains("(vcpu", StringComparison.Ordinal)
            ? "vCPU children (kvm_pio(vcpu0)) are fields only with -p or -g and --vcpus, for a VM whose vCPU threads are known (kvm_stat --doctor -p PID --vcpus says); list the fields with: kvm_stat -f help"
        : !LatencySource.FamilyNames(kernel: true).Any(filter.Matches) ? "List the available fields with: kvm_stat -f help"
        : latency ? "Exit latencies are fields only where the BPF engine can time exits (kvm_stat --doctor says whether it can), and kernel_exit_* only where kvm_entry fires (VMX, SVM, arm64); list the fields with: kvm_stat -f help --latency"
        : "Exit latencies (user_exit_*, kernel_exit_*) are fields only with --latency, counted by the BPF engine; list the fields with: kvm_stat -f help --latency";
}
