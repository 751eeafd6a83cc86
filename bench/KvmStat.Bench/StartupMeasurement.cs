using System.Diagnostics;
using System.Globalization;

namespace KvmStat.Bench;

/// <summary>
/// Time from starting the published binary to its first sample (the "counting started" line
/// of --verbose, written right after it), and the wall time of the whole run (for "-1", its
/// default arguments, that is the one-second sample).
/// </summary>
internal static class StartupMeasurement
{
    internal static int Run(string binary, int runs, string[] arguments)
    {
        var toFirstSample = new List<double>();
        var wall = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            // Let the previous run's descriptors be released first (see DescriptorHandOff): a start
            // during that release waits for the kernel's event mutex.
            Thread.Sleep(4000);
            var info = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string arg in arguments.Append("--verbose"))
                info.ArgumentList.Add(arg);
            long start = Stopwatch.GetTimestamp();
            using Process process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            string? last = null;
            while (process.StandardError.ReadLine() is string line)
            {
                if (line.EndsWith("counting started", StringComparison.Ordinal))
                {
                    toFirstSample.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    break;
                }
                last = line;
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.WriteLine($"kvm_stat {string.Join(' ', arguments)}: exit status {process.ExitCode}: {last}");
                return 1;
            }
            wall.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"start-up to first sample: median {Median(toFirstSample):F1} ms, min {toFirstSample.Min():F1} ms, max {toFirstSample.Max():F1} ms ({runs} runs)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kvm_stat {string.Join(' ', arguments)} wall time: median {Median(wall):F0} ms, min {wall.Min():F0} ms, max {wall.Max():F0} ms ({runs} runs)"));
        return 0;
    }

    private static double Median(List<double> values)
    {
        List<double> sorted = [.. values.Order()];
        return sorted[sorted.Count / 2];
    }
}
