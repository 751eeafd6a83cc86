using System.Globalization;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>--doctor's checks of the tracepoint engine: whether BPF programs load here, and how its table of processes fared.</summary>
internal sealed partial class Doctor
{
    /// <summary>
    /// Whether BPF programs load and attach here (the default engine), or why perf counters count
    /// instead. The programs keep counting every process while the other checks run, for <see cref="CheckTable"/>.
    /// </summary>
    private void CheckEngine(Tracefs tracefs, ExitReasonSet exitReasons)
    {
        string[] events = [.. tracefs.ListKvmEvents()];
        if (events.Length == 0)
            return;
        if (request.Engine == TracepointEngineChoice.Perf)
        {
            Line("ok", "engine", $"perf counters (--engine perf): {events.Length} tracepoints, a counter per CPU and tracepoint; per-guest counts need a counter per VM thread and field");
            return;
        }
        try
        {
            BpfSupport.Require();
            // The table a per-VM run with these options makes (the fields -f keeps with every
            // reason of their tracepoints; latencies and vCPU rows if asked): its memory is what the
            // kernel must allow (before Linux 5.11, within the locked-memory limit).
            string? entry = LatencyEntryAsRun;
            (List<TracepointField> fields, int shown) = TableFields(tracefs, exitReasons, entry);
            // Events it cannot attribute are the table's own check (CheckTable), not a warning of the run.
            _table = new BpfCounters(tracefs, fields, paths, _descriptors, verbose: null, warn: _ => { }, latencyEntry: entry, vcpus: request.Vcpus, shown: shown);
            _table.Capture();
            _bpfCounts = true;
            string asRun = (entry is null ? "" : " --latency") + (request.Vcpus ? " --vcpus" : "");
            Line("ok", "engine", string.Create(CultureInfo.InvariantCulture,
                $"BPF: programs load and attach ({events.Length} tracepoints, {fields.Count} fields; {_table.Layout.MapBytes() / 1048576.0:0.0} MiB of maps, as a per-VM run{asRun}); ") +
                "kvm events are counted per process in the kernel, from each process's first event");
        }
        catch (BpfException e) when (HostTableLoads(tracefs, exitReasons))
        {
            // A kernel that charges maps to a small locked-memory limit: the host's totals, a row
            // per CPU, fit where the table of processes does not. Said as runs of each kind go.
            string perVm = request.Engine == TracepointEngineChoice.Bpf
                ? $"per-VM runs (the screen's b, --serve, --json's guests) stop with --engine bpf: {TracepointEngines.BpfRequired(e).Message}"
                : $"per-VM runs (the screen's b, --serve, --json's guests) count with perf counters: BPF is not available for them ({TracepointEngines.Describe(e)})";
            Line("warn", "engine", $"BPF for the host's totals (-1, -l, the screen's first view); {perVm}");
        }
        catch (BpfException e) when (request.Engine == TracepointEngineChoice.Bpf)
        {
            // As a run with --engine bpf: it stops.
            EnvironmentException refusal = TracepointEngines.BpfRequired(e);
            Line("fail", "engine", $"{refusal.Message} {refusal.Fix}");
        }
        catch (BpfException e)
        {
            Line("warn", "engine", $"perf counters: BPF is not available ({TracepointEngines.Describe(e)}); per-guest counts need a counter per VM thread and field");
        }
        catch (KvmStatException e)
        {
            // A run stops on it too (a setting of this environment, not a kernel that lacks something).
            Line("fail", "engine", $"{e.Message}{(e.Fix is null ? "" : " " + e.Fix)}");
        }
    }

    /// <summary>
    /// The fields a run's BPF table counts, and how many of them it shows (<see cref="TracepointEngines.BpfTableFields"/>); where
    /// -f keeps no tracepoint field and no exit latency is timed (a run counts no tracepoint then:
    /// <see cref="CheckFields"/> says what it does) those of every field.
    /// </summary>
    private (List<TracepointField> Fields, int Shown) TableFields(Tracefs tracefs, ExitReasonSet exitReasons, string? entry)
    {
        IReadOnlyList<TracepointField> catalog = Catalog(tracefs, exitReasons);
        List<TracepointField> selected = TracepointEngines.SelectFields(Selection, catalog, VcpuLabels);
        return TracepointEngines.BpfTableFields(catalog, selected.Count > 0 || entry is not null ? selected : [.. catalog], entry);
    }

    /// <summary>
    /// With --guest-fields: as a run with --serve or --json checks it at start, where one that keeps
    /// no event of the guests, or takes a second on a name the run asks of it (the guests' fields,
    /// with --latency the reasons of their histograms), stops the run.
    /// </summary>
    private void CheckGuestFields(Tracefs tracefs, ExitReasonSet exitReasons)
    {
        if (request.GuestFields is not FieldFilter filter)
            return;
        // The guests' fields as a run has them: a reason is one where the BPF engine counts each
        // guest (perf counters count each guest's events, not their reasons); kept as a run keeps them.
        FieldSet guests = AsSet(TracepointEngines.SelectFields(Selection, Catalog(tracefs, exitReasons), VcpuLabels).Where(f => _bpfCounts || !f.IsChild));
        bool[] keeps = filter.KeepsEach(guests);
        List<string> kept = [.. Enumerable.Range(0, guests.Count).Where(i => keeps[i] && !guests.IsChild(i)).Select(i => guests[i].Name)];
        int keptReasons = Enumerable.Range(0, guests.Count).Count(i => keeps[i] && guests.IsChild(i));
        // With --latency the reasons of each guest's exit histograms too (a pattern of them alone keeps those).
        List<string> reasons = [];
        // As a run: only where the BPF engine counts and can time exits.
        string? entry = _bpfCounts ? LatencyEntryAsRun : null;
        bool timed = entry is not null;
        if (entry is not null)
        {
            FieldSet table = AsSet(TableFields(tracefs, exitReasons, entry).Fields);
            bool[] timedKept = filter.KeepsEach(table);
            reasons = [.. Enumerable.Range(0, table.Count)
                .Where(i => timedKept[i] && table.IsChild(i) && ExitLatencies.Kinds.Contains(table[table.ParentOf(i)].Name)).Select(i => table[i].Name)];
        }
        string pattern = Text.EscapeControls(filter.Pattern);
        if (filter.TooSlow("--guest-fields") is UsageException slow)
            Line("fail", "guest fields", $"{slow.Message} A run with --serve or --json stops. {slow.Fix}");
        else if (kept.Count == 0 && reasons.Count == 0)
            Line("fail", "guest fields", $"--guest-fields \"{pattern}\" matches no event of the guests{(!request.Latency ? "" : timed ? " and no reason of their exit latencies" : ", and exit latencies are not measured here")}: " +
                "a run with --serve or --json stops. List the events with: kvm_stat -f help");
        else
            Line("ok", "guest fields", $"--guest-fields \"{pattern}\" gives each guest " +
                string.Join(", and ", new[]
                {
                    kept.Count > 0 ? SourceFactory.FieldNames(kept) + (keptReasons > 0 ? $" with {keptReasons} exit reasons" : "") : null,
                    reasons.Count > 0 ? $"the exit latencies of {SourceFactory.FieldNames(reasons)}" : null,
                }.OfType<string>()));
    }

    private static FieldSet AsSet(IEnumerable<TracepointField> fields) => new([.. fields.Select(f => f.ToStatField())]);

    /// <summary>What ends an exit in a run with these options: null without --latency, or where this kernel cannot time exits.</summary>
    private string? LatencyEntryAsRun => request.Latency && _latencyRefusal.Value is null ? TracepointEngines.LatencyEntry(paths) : null;

    /// <summary>
    /// Whether the lighter table of the host's totals alone (as -1 and -l count with, their
    /// latencies too with --latency) loads where a per-VM run's did not.
    /// </summary>
    private bool HostTableLoads(Tracefs tracefs, ExitReasonSet exitReasons)
    {
        try
        {
            // A kernel that lacks what the engine needs refuses it whatever the table (as a run).
            BpfSupport.Require();
            string? entry = LatencyEntryAsRun;
            // Loaded to see whether the kernel takes it, and closed before it counts: nothing to warn of.
            using var host = new BpfCounters(tracefs, TableFields(tracefs, exitReasons, entry).Fields, paths, _descriptors, verbose: null, warn: _ => { },
                scope: BpfScope.Host, latencyEntry: entry);
            return true;
        }
        catch (BpfException)
        {
            return false;
        }
    }

    /// <summary>How the BPF engine's table of processes fared while the checks ran: room, processes, and any events it could not attribute.</summary>
    private void CheckTable()
    {
        if (_table is null)
            return;
        using BpfCounters table = _table;
        _table = null;
        table.Capture();
        long unattributed = table.UnattributedEvents;
        // Slots in use at the last look: processes that are not VMs give theirs back at each capture.
        string seen = $"room for {table.Capacity} processes; {table.SlotsInUse} in use at the last look ({table.Vms.Count} of them VMs)";
        Line(unattributed == 0 ? "ok" : "warn", "BPF table", unattributed == 0
            ? $"{seen}; every event meanwhile attributed to its process"
            : $"{seen}; {unattributed} events meanwhile could not be attributed: more processes raised kvm events at once than the table has room for");
    }
}
