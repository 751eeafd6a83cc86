using System.CommandLine;
using System.CommandLine.Invocation;

namespace KvmStat.Cli;

/// <summary>--version: the release and the commit, named as such (the default prints "1.0.0+hash").</summary>
internal sealed class VersionAction : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(BuildVersion.Line);
        return 0;
    }
}
