namespace KvmStat.Tests;

/// <summary>
/// The test executable runs the tests, or (with "guest" as first argument) the test guest that
/// integration tests start as a separate process.
/// </summary>
internal static class Program
{
    internal static int Main(string[] args) =>
        args.Length > 0 && args[0] == TestGuest.GuestProgram.Verb
            ? TestGuest.GuestProgram.Run(args)
            : Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
}
