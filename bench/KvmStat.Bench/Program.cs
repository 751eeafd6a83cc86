using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using KvmStat.Bench;

// "startup BINARY [RUNS [ARGS...]]" measures the published binary; anything else goes to BenchmarkDotNet.
if (args.Length >= 2 && args[0] == "startup")
{
    int runs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10;
    return StartupMeasurement.Run(args[1], runs, args.Length > 3 ? args[3..] : ["-1"]);
}

IConfig config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(RefreshBenchmarks).Assembly).Run(args, config);
return 0;
