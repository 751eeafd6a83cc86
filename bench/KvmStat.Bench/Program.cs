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

// "programs [ROUNDS [RUNS]]" measures what each BPF program of the engine costs per event.
if (args.Length >= 1 && args[0] == "programs")
{
    int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15;
    int runs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
    return ProgramCost.Run(rounds, runs);
}

// "floor raw|classic": an empty program on every kvm tracepoint until SIGTERM (bench/overhead.sh's floor).
if (args.Length >= 2 && args[0] == "floor")
    return ProgramFloor.Run(args[1]);

// "attach [ROUNDS [CALLS]]": what a raw and a classic attach cost each event of a tracepoint.
if (args.Length >= 1 && args[0] == "attach")
{
    int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 31;
    int calls = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    return AttachCost.Run(rounds, calls);
}

// "scrape [VMS [FIELDS [ROUNDS [REASONS]]]]": the exporter's formatting and writing of a dense host's scrape.
if (args.Length >= 1 && args[0] == "scrape")
{
    int Arg(int index, int otherwise) => args.Length > index ? int.Parse(args[index], System.Globalization.CultureInfo.InvariantCulture) : otherwise;
    return ScrapeCost.Run(Arg(1, 4000), Arg(2, 40), Arg(3, 15), Arg(4, 0));
}

// "vcpus [THREADS [ROUNDS]]": summing one VM's vCPU threads into rows (--vcpus) at each sample.
if (args.Length >= 1 && args[0] == "vcpus")
{
    int Arg(int index, int otherwise) => args.Length > index ? int.Parse(args[index], System.Globalization.CultureInfo.InvariantCulture) : otherwise;
    return VcpuRowsCost.Run(Arg(1, 16_384), Arg(2, 15));
}

// "layout": the kernel memory of the BPF engine's maps for some host sizes.
if (args.Length >= 1 && args[0] == "layout")
    return MapMemory.Run();

IConfig config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(RefreshBenchmarks).Assembly).Run(args, config);
return 0;
