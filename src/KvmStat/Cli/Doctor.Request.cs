using KvmStat.Exporter;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Debugfs;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>--doctor's first lines: what the options beside it ask a run to do, checked as the run would.</summary>
internal sealed partial class Doctor
{
    private void CheckRequest()
    {
        if (request.Unused.Count > 0)
            Line("note", "options", $"{string.Join(", ", request.Unused.Select(Text.Escape))} {(request.Unused.Count == 1 ? "does" : "do")} not change what --doctor checks " +
                "(every source, every output); it takes --engine, --latency, --vcpus, --web-config-file, -f, --guest-fields, and -p or -g for one VM");
        CheckWatchedVm();
        CheckWebConfig();
    }

    /// <summary>With --web-config-file: the file loaded as the exporter loads it at start, where a broken one stops it.</summary>
    private void CheckWebConfig()
    {
        if (request.WebConfigFile is not string path)
            return;
        try
        {
            WebConfig config = WebConfig.Load(path, time);
            // What the exporter says of it at start, said here too.
            Line(config.Notes.Count == 0 ? "ok" : "warn", "web config", $"{Text.Escape(path)}: {(config.UsesTls ? "TLS" : "plain HTTP")}, " +
                $"{(config.Auth.Enabled ? "basic authentication" : "no authentication")}{string.Concat(config.Notes.Select(n => $"; {n}"))}");
        }
        catch (KvmStatException e)
        {
            Line("fail", "web config", e.CauseAndFix);
        }
    }

    /// <summary>
    /// With -p/-g: the VM a run would watch, found as a run finds it, or why a run would stop.
    /// Where none is found the checks look at every VM, so the one meant can be picked out.
    /// </summary>
    private void CheckWatchedVm()
    {
        if (request.Pid == 0 && request.Guest is null)
            return;
        var finder = new GuestFinder(paths);
        try
        {
            string? unconfirmed = null;
            (int pid, _) = Session.ResolveVm(new Options { Pid = request.Pid, Guest = request.Guest }, finder, said => unconfirmed = said);
            _watched = pid;
            string name = Text.Escape(finder.NameOf(pid) ?? "");
            if (unconfirmed is not null)
                Line("warn", "watched VM", $"{unconfirmed} The checks of VMs look at it alone.");
            else
                Line("ok", "watched VM", $"pid {pid}{(name.Length > 0 ? $" ({name})" : "")}: the checks of VMs look at it alone");
        }
        catch (EnvironmentException e)
        {
            Line("fail", "watched VM", $"{e.CauseAndFix} Every running VM is listed below.");
        }
    }
    /// <summary>With --vcpus and a watched VM, the labels of its vCPUs: an -f that names vCPU children keeps their parents, as in a run.</summary>
    private IReadOnlyList<string> VcpuLabels => TracepointEngines.VcpuLabels(paths, request.Vcpus ? _watched : 0);

    /// <summary>
    /// With -f: the fields a run would keep of this host's tracepoints (and exit latencies with
    /// --latency), and of debugfs, which a run reads with -d; where it keeps no tracepoint field a
    /// run without -d stops, as it would. Binary statistics, named per VM, are not looked at.
    /// </summary>
    private void CheckFields(Tracefs? tracefs, ExitReasonSet exitReasons)
    {
        if (request.Fields is not FieldFilter filter)
            return;
        List<string> tracepoints = tracefs is null ? [] : TracepointEngines.SelectFields(Selection, Catalog(tracefs, exitReasons), VcpuLabels).ConvertAll(f => f.Name);
        // As a run: latency fields only where the BPF engine counts and can time exits.
        if (tracefs is not null && request.Latency && _bpfCounts && _latencyRefusal.Value is null)
            tracepoints.AddRange(LatencySource.FamilyNames(kernel: TracepointEngines.LatencyEntry(paths) == BpfPrograms.KvmEntry).Where(filter.Matches));
        List<string> debugfs = DebugfsSource.StatNames(paths).FindAll(filter.Matches);
        // As a run: a pattern that took a second on a name selects what no one knows.
        if (filter.TooSlow() is UsageException slow)
        {
            Line("fail", "fields", $"{slow.Message} A run stops. {slow.Fix}");
            return;
        }
        string pattern = Text.EscapeControls(filter.Pattern);
        if (tracepoints.Count > 0)
            Line("ok", "fields", $"-f \"{pattern}\" keeps {SourceFactory.FieldNames(tracepoints)} of the tracepoints" + (debugfs.Count > 0 ? $", and {SourceFactory.FieldNames(debugfs)} of debugfs with -d" : ""));
        else if (debugfs.Count > 0)
            Line("warn", "fields", $"-f \"{pattern}\" keeps no tracepoint field, {SourceFactory.FieldNames(debugfs)} of debugfs: a run needs -d (without it, it stops)");
        else
            Line("fail", "fields", $"no {(tracefs is null ? "" : "tracepoint or ")}debugfs field matches \"{pattern}\": a run stops. {SourceFactory.NoFieldFix(filter, request.Latency)}");
    }
}
