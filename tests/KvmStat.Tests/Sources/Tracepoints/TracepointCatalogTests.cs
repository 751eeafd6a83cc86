using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Tracepoints;

public class TracepointCatalogTests
{
    private static IReadOnlyList<TracepointField> Discover(FixtureRoot fixture, ExitReasonSet set)
    {
        Tracefs tracefs = Tracefs.Locate(fixture.Paths);
        return TracepointCatalog.Discover(tracefs, set);
    }

    private static FixtureRoot WithRealFormats()
    {
        var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_exit", 103, FixtureRoot.TestData("kvm_exit.format"));
        fixture.AddTracepoint("kvm_userspace_exit", 42, FixtureRoot.TestData("kvm_userspace_exit.format"));
        fixture.AddTracepoint("kvm_pio", 110, FixtureRoot.TestData("kvm_pio.format"));
        return fixture;
    }

    [Fact]
    public void NamesChildrenFromTheKernelsOwnTables()
    {
        using FixtureRoot fixture = WithRealFormats();
        IReadOnlyList<TracepointField> fields = Discover(fixture, ExitReasonSet.Vmx);

        TracepointField io = Assert.Single(fields, f => f.Name == "kvm_userspace_exit(IO)");
        Assert.Equal("reason==2", io.Filter);
        Assert.Equal("kvm_userspace_exit", io.Parent);
        TracepointField hlt = Assert.Single(fields, f => f.Name == "kvm_exit(HLT)");
        Assert.Equal("exit_reason==12", hlt.Filter);
        // Names this kernel has and the reference's table lacks.
        Assert.Contains(fields, f => f.Name == "kvm_exit(BUS_LOCK)");
        Assert.Contains(fields, f => f.Name == "kvm_userspace_exit(X86_RDMSR)");
        Assert.Equal(["kvm_exit", "kvm_pio", "kvm_userspace_exit"], fields.Where(f => !f.IsChild).Select(f => f.Name));
    }

    [Fact]
    public void SvmHostsUseTheSecondTableNormalised()
    {
        using FixtureRoot fixture = WithRealFormats();
        IReadOnlyList<TracepointField> fields = Discover(fixture, ExitReasonSet.Svm);

        Assert.Equal("exit_reason==120", Assert.Single(fields, f => f.Name == "kvm_exit(HLT)").Filter);
        Assert.Equal("exit_reason==1024", Assert.Single(fields, f => f.Name == "kvm_exit(NPF)").Filter);
        Assert.Single(fields, f => f.Name == "kvm_exit(PF_EXCP)");
        Assert.Single(fields, f => f.Name == "kvm_exit(IDLE_HALT)");
        // -1 on an unsigned 32-bit field is given to the kernel as 4294967295.
        Assert.Equal("exit_reason==4294967295", Assert.Single(fields, f => f.Name == "kvm_exit(INVALID_GUEST_STATE)").Filter);
        Assert.All(fields, f => Assert.DoesNotContain(' ', f.Name));
    }

    [Fact]
    public void WithoutVmxOrSvmKvmExitHasNoChildrenAndNothingFails()
    {
        using FixtureRoot fixture = WithRealFormats();
        IReadOnlyList<TracepointField> fields = Discover(fixture, ExitReasonSet.Unknown);

        Assert.DoesNotContain(fields, f => f.Parent == "kvm_exit");
        Assert.Contains(fields, f => f.Name == "kvm_exit");
        Assert.Contains(fields, f => f.Name == "kvm_userspace_exit(MMIO)");
    }

    [Fact]
    public void FallsBackToBuiltInNamesWhenTheFormatCannotBeRead()
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_exit", 1);
        fixture.AddTracepoint("kvm_userspace_exit", 2);
        File.Delete(fixture.Paths.Map("/sys/kernel/tracing/events/kvm/kvm_exit/format"));
        IReadOnlyList<TracepointField> fields = Discover(fixture, ExitReasonSet.Vmx);

        Assert.Equal("exit_reason==12", Assert.Single(fields, f => f.Name == "kvm_exit(HLT)").Filter);
        Assert.Equal("reason==6", Assert.Single(fields, f => f.Name == "kvm_userspace_exit(MMIO)").Filter);
    }

    /// <summary>
    /// The kernel emits exit reasons its own print format does not list (this host's stops at 30):
    /// the built-in uapi table adds them, and one more child takes any other value, so that the
    /// children always add up to their parent.
    /// </summary>
    [Fact]
    public void ChildrenAreTheKernelsListTheUapiTableAndOneForAnyOtherValue()
    {
        using var fixture = new FixtureRoot();
        // The kernel's list without HLT (5), and a name of its own for 6.
        string format = FixtureRoot.TestData("kvm_userspace_exit.format")
            .Replace("{ 5, \"KVM_EXIT_\" \"HLT\" }, ", "")
            .Replace("{ 6, \"KVM_EXIT_\" \"MMIO\" }", "{ 6, \"KVM_EXIT_\" \"MMIO_ACCESS\" }");
        fixture.AddTracepoint("kvm_userspace_exit", 42, format);
        IReadOnlyList<TracepointField> children = [.. Discover(fixture, ExitReasonSet.Unknown).Where(f => f.IsChild)];

        Assert.Equal("reason==5", Assert.Single(children, f => f.Name == "kvm_userspace_exit(HLT)").Filter);
        Assert.Equal(5, Assert.Single(children, f => f.Name == "kvm_userspace_exit(HLT)").ReasonValue);
        Assert.Equal("reason==6", Assert.Single(children, f => f.Name == "kvm_userspace_exit(MMIO_ACCESS)").Filter);
        Assert.DoesNotContain(children, f => f.Name == "kvm_userspace_exit(MMIO)");
        Assert.Single(children, f => f.Name == "kvm_userspace_exit(NOTIFY)");
        // One child per value 0..40 of the uapi table, then the one for everything else.
        long[] values = [.. children.Where(f => f.ReasonValue is not null).Select(f => f.ReasonValue!.Value)];
        Assert.Equal(Enumerable.Range(0, 41).Select(v => (long)v), values.Order());
        TracepointField other = children[^1];
        Assert.Equal("kvm_userspace_exit(OTHER)", other.Name);
        Assert.Null(other.ReasonValue);
        Assert.Equal(string.Join("&&", values.Select(v => $"reason!={v}")), other.Filter);
        Assert.Equal(children.Count, children.Select(f => f.Name).Distinct().Count());
    }

    /// <summary>The built-in table against the exit reasons the installed uapi header defines.</summary>
    [Fact]
    public void TheBuiltInUserspaceReasonsAreTheUapiHeadersOwn()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/gcc") && File.Exists("/usr/include/linux/kvm.h"), "gcc and the kernel's uapi headers are not installed (./test.sh installs them)");
        var info = new System.Diagnostics.ProcessStartInfo("gcc") { RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (string argument in new[] { "-dM", "-E", "-include", "linux/kvm.h", "-" })
            info.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Close();
        string macros = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        // KVM_EXIT_IO_IN/OUT, KVM_EXIT_HYPERV_* and KVM_EXIT_XEN_HCALL are codes inside one exit, not exit reasons.
        string[] subCodes = ["IO_IN", "IO_OUT", "HYPERV_SYNIC", "HYPERV_HCALL", "HYPERV_SYNDBG", "XEN_HCALL"];
        var defined = System.Text.RegularExpressions.Regex.Matches(macros, @"^#define KVM_EXIT_(\w+) (\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => (Name: m.Groups[1].Value, Value: long.Parse(m.Groups[2].Value)))
            .Where(d => !subCodes.Contains(d.Name))
            .ToList();
        Assert.True(defined.Count >= 31, "the header defines fewer exit reasons than expected");
        foreach ((string name, long value) in defined)
            Assert.Contains(new SymbolicEntry(value, name), BuiltinExitReasons.Userspace);
    }

    [Fact]
    public void DetectsTheVendorFromTheLoadedModuleBeforeCpuFlags()
    {
        using var fixture = new FixtureRoot();
        Assert.Equal(ExitReasonSet.Unknown, ExitReasonSetDetector.Detect(fixture.Paths));
        fixture.WriteFile("/proc/cpuinfo", "flags\t\t: fpu svm lm\n");
        Assert.Equal(ExitReasonSet.Svm, ExitReasonSetDetector.Detect(fixture.Paths));
        Directory.CreateDirectory(fixture.Paths.Map("/sys/module/kvm_intel"));
        Assert.Equal(ExitReasonSet.Vmx, ExitReasonSetDetector.Detect(fixture.Paths));
    }

    [Theory]
    [InlineData("read_cr0", "READ_CR0")]
    [InlineData("DE excp", "DE_EXCP")]
    [InlineData("idle-halt", "IDLE_HALT")]
    [InlineData("HLT", "HLT")]
    public void NormalisesNames(string raw, string expected) =>
        Assert.Equal(expected, TracepointCatalog.NormalizeName(raw));
}
