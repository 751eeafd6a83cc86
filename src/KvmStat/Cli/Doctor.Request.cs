using KvmStat.Exporter;
using KvmStat.Guests;

namespace KvmStat.Cli;

/// <summary>--doctor's first lines: what the options beside it ask a run to do, checked as the run would.</summary>
internal sealed partial class Doctor
{
    private void CheckRequest()
    {
        if (request.Unused.Count > 0)
            Line("note", "options", $"{string.Join(", ", request.Unused.Select(Text.Escape))} {(request.Unused.Count == 1 ? "does" : "do")} not change what --doctor checks " +
                "(every source, every output); it takes --engine, --latency, --web-config-file, and -p or -g for one VM");
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
            Line("ok", "web config", $"{Text.Escape(path)}: {(config.UsesTls ? "TLS" : "plain HTTP")}, " +
                $"{(config.Auth.Enabled ? "basic authentication" : "no authentication")}");
        }
        catch (KvmStatException e)
        {
            Line("fail", "web config", e.Fix is null ? e.Message : $"{e.Message} {e.Fix}");
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
            (int pid, _) = Session.ResolveVm(new Options { Pid = request.Pid, Guest = request.Guest }, finder);
            _watched = pid;
            string name = Text.Escape(finder.NameOf(pid) ?? "");
            Line("ok", "watched VM", $"pid {pid}{(name.Length > 0 ? $" ({name})" : "")}: the checks of VMs look at it alone");
        }
        catch (EnvironmentException e)
        {
            Line("fail", "watched VM", $"{e.Message} {e.Fix} Every running VM is listed below.");
        }
    }
}
