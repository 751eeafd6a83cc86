using System.Globalization;

namespace KvmStat.Tests.TestGuest;

/// <summary>
/// The test guest as a process of its own (so kvm_stat can watch it with -p and -g). Its command
/// line carries "-name NAME" like QEMU's. It talks over stdin/stdout:
/// prints "ready PID TID..." once its vCPU threads exist; on "run" runs the program and prints
/// "done START END" (monotonic timestamps); on "spawn" adds a vCPU on a new thread; with --hold-stats it keeps KVM's binary statistics
/// descriptors open like QEMU 8.1, and "stats" prints them; ends on "exit" or end of input.
/// </summary>
internal static class GuestProgram
{
    internal const string Verb = "guest";

    internal static int Run(string[] args)
    {
        int vcpus = 1, outs = 0, mmio = 0;
        bool holdStats = args.Contains("--hold-stats");
        for (int i = 1; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--vcpus": vcpus = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--outs": outs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--mmio": mmio = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
            }
        }

        using var vm = new TestVm(vcpus);
        if (holdStats)
            vm.OpenStatsDescriptors();
        Console.Out.WriteLine($"ready {Environment.ProcessId} {string.Join(" ", vm.Vcpus.Select(v => v.ThreadId))}");
        Console.Out.Flush();
        while (Console.In.ReadLine() is string command)
        {
            switch (command)
            {
                case "run":
                    // The monotonic times (CLOCK_MONOTONIC, as Stopwatch on Linux) around the run
                    // let a test prove the run lay inside kvm_stat's counting window.
                    long started = System.Diagnostics.Stopwatch.GetTimestamp();
                    vm.Run(outs, mmio);
                    long ended = System.Diagnostics.Stopwatch.GetTimestamp();
                    Console.Out.WriteLine($"done {started} {ended}");
                    Console.Out.Flush();
                    break;
                case "stats":
                    // Every statistic of the VM's own descriptors: "stats ID NAME VALUE,VALUE..." per line, then "end".
                    foreach (int fd in new[] { vm.VmStats!.Value }.Concat(vm.Vcpus.Select(v => v.Stats!.Value)))
                    {
                        foreach (string line in OwnStatsDump.Lines(fd))
                            Console.Out.WriteLine(line);
                    }
                    Console.Out.WriteLine("end");
                    Console.Out.Flush();
                    break;
                case "spawn":
                    TestVm.Vcpu added = vm.AddVcpu();
                    Console.Out.WriteLine($"spawned {added.ThreadId}");
                    Console.Out.Flush();
                    break;
                case "exit":
                    return 0;
            }
        }
        return 0;
    }
}
