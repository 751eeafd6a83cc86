using KvmStat;
using KvmStat.Cli;
using KvmStat.Output;
using KvmStat.Host;

// Before anything that takes time: a SIGHUP in the first moments must not end the exporter.
Signals.HoldHangups();
ResidentMemory.FaultOnlyWhatRuns();

AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    // A failure on a background thread: one line, never a stack trace.
    Console.Error.WriteLine($"kvm_stat: {Text.EscapeControls(KvmStatException.Describe(e.ExceptionObject as Exception))}");
    Console.Error.Flush();
    Interop.Libc.ExitImmediately(70);
};

int exitCode;
try
{
    exitCode = Runner.Run(args, HostPaths.FromEnvironment(), Console.Out, Console.Error, TimeProvider.System);
}
catch (KvmStatException e)
{
    Reporter.Report(e, Console.Error);
    exitCode = e.ExitCode;
}
catch (OutputClosedException)
{
    exitCode = 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"kvm_stat: {Text.EscapeControls(KvmStatException.Describe(e))}");
    exitCode = 70;
}
Console.Out.Flush();
return exitCode;
