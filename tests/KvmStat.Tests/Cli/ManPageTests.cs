using KvmStat.Cli;
using KvmStat.Host;
using KvmStat.Sources.Bpf;

namespace KvmStat.Tests.Cli;

public class ManPageTests
{
    /// <summary>The variables an operator may meet (the fallback's forcing option) are in the page, with every feature the engine probes.</summary>
    [Fact]
    public void TheEnvironmentSectionNamesEveryVariableAndFeature()
    {
        string page = ManPage.Render(CommandLine.Build(), "1.0.0", "2026-12-06");
        int start = page.IndexOf(".SH ENVIRONMENT\n", StringComparison.Ordinal);
        Assert.True(start > page.IndexOf(".SH EXIT STATUS\n", StringComparison.Ordinal) && start < page.IndexOf(".SH FILES\n", StringComparison.Ordinal), page);
        string section = page[start..page.IndexOf(".SH FILES\n", StringComparison.Ordinal)];
        Assert.Contains($"\n{BpfSupport.PretendVariable}=\\fIFEATURE\\fR\n", section);
        Assert.Contains($"\n{HostPaths.RootVariable}=\\fIDIR\\fR\n", section);
        Assert.All(BpfSupport.Features, f => Assert.Contains(f.Name, section));
        // The variable takes memlock too (a kernel that charges maps to the locked-memory limit).
        Assert.Contains(BpfSupport.Memlock, section);
    }
}
