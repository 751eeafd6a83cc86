using KvmStat.Sources.Tracing;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Unit;

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
