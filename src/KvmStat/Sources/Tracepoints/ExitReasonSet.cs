using System.Runtime.InteropServices;
using KvmStat.Host;

namespace KvmStat.Sources.Tracepoints;

/// <summary>Which encoding the kvm_exit tracepoint's exit_reason field uses on this host.</summary>
internal enum ExitReasonSet
{
    /// <summary>Neither VMX nor SVM nor arm64 could be recognised: kvm_exit has no child fields.</summary>
    Unknown,
    Vmx,
    Svm,
    AArch64,
}
