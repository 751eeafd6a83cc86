using System.Runtime.InteropServices;
using KvmStat.Host;

namespace KvmStat.Sources.Tracepoints;

internal static class ExitReasonSetDetector
{
    /// <summary>
    /// The loaded vendor module is the best witness; CPU flags come next (the reference looks
    /// only at them and crashes when neither vmx nor svm is there, as under a paravirtual KVM).
    /// </summary>
    internal static ExitReasonSet Detect(HostPaths paths)
    {
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
            return ExitReasonSet.AArch64;
        if (Directory.Exists(Path.Join(paths.SysModule, "kvm_intel")))
            return ExitReasonSet.Vmx;
        if (Directory.Exists(Path.Join(paths.SysModule, "kvm_amd")))
            return ExitReasonSet.Svm;
        return FromCpuFlags(paths.CpuInfo);
    }

    private static ExitReasonSet FromCpuFlags(string cpuInfoPath)
    {
        try
        {
            foreach (string line in File.ReadLines(cpuInfoPath))
            {
                if (!line.StartsWith("flags", StringComparison.Ordinal))
                    continue;
                string[] flags = line.Split([' ', '\t', ':'], StringSplitOptions.RemoveEmptyEntries);
                if (Array.IndexOf(flags, "vmx") >= 0)
                    return ExitReasonSet.Vmx;
                if (Array.IndexOf(flags, "svm") >= 0)
                    return ExitReasonSet.Svm;
                return ExitReasonSet.Unknown;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No cpuinfo to read (a fixture root, a locked-down container): Unknown, which --doctor and the
            // exit-reason fields say as such.
        }
        return ExitReasonSet.Unknown;
    }
}
