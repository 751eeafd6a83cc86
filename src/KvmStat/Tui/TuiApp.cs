using System.Globalization;
using KvmStat.Guests;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>
/// The interactive screen's state and drawing, apart from any terminal: keys come in through
/// <see cref="OnKey"/>, samples through <see cref="Refresh"/>, and <see cref="Draw"/> paints a
/// <see cref="ScreenGrid"/> from the sampler's snapshot. The regex and 'x' only choose what is
/// shown: every field is counted from the start. A new sampler is opened only when what is
/// counted changes (a VM, the per-guest view, or a regex beyond the -f the run started with).
/// Cli.ScreenLoop drives it with real time and a real terminal; tests drive it directly. Its
/// parts: the drawing (TuiApp.Draw), its header (TuiApp.Header), the per-guest view
/// (TuiApp.Guests), the exit latencies (TuiApp.Latency), the prompts (TuiApp.Prompts).
/// </summary>
internal sealed partial class TuiApp
{
    internal const double InitialDelay = 0.25;
    /// <summary>Like the reference, the table (header, rows, Total) starts at column 1; column 0 stays blank.</summary>
    internal const int TableColumn = 1;

    /// <summary>"%-40s %10s%7s %8s": label, total, %Total, CurAvg/s.</summary>
    internal const int TableWidth = 40 + 1 + 10 + 7 + 1 + 8;

    /// <summary>
    /// Below this the screen says it is too small. A narrower terminal than the table (a split
    /// pane) shows what fits, cut on the right, as the reference's curses screen does: the names
    /// and totals first.
    /// </summary>
    internal const int MinColumns = 24;
    internal const int MinRows = 6;
    private const int LabelWidth = 40;
    private const int MaxGuestNameLength = 48;
    private const int MaxRegexLength = 44;

    private readonly ITuiBackend _backend;
    private readonly TimeProvider _time;
    private Sampler? _sampler;
    private FieldFilter _filter;
    private FieldFilter _counted;
    private bool _showChildren;
    private int _pid;
    private string? _guestName;
    private bool _guestDead;
    private bool _sortByTotal;
    private double _delay;
    private View _view = View.Main;
    private View _viewBeforeHelp = View.Main;
    private Prompt? _prompt;
    private int _selectedGuest;
    private string? _error;
    private string? _notice;

    /// <summary>What 'x' in the guest view says without --vcpus: a hint of that view alone.</summary>
    private const string VcpusNeedOption = "x shows each guest's vCPUs only with --vcpus (kvm_stat --vcpus)";
    private long _nextRefresh;

    private enum View { Main, Guests, Latency, Help, Prompt }

    /// <param name="latency">Measure exit latencies from the start (--latency); else from the first 'l'.</param>
    internal TuiApp(ITuiBackend backend, FieldFilter filter, int pid, string? guestName, double delay, TimeProvider time, bool latency = false)
    {
        _latency = _latencyAsked = latency;
        _backend = backend;
        _time = time;
        _filter = filter;
        _counted = filter;
        _pid = pid;
        _guestName = guestName ?? (pid > 0 ? backend.NameOf(pid) : null);
        _delay = delay;
    }

    internal bool QuitRequested { get; private set; }

    /// <summary>When the next sample is due (a timestamp of the screen's clock); long.MaxValue while the help or a prompt is open.</summary>
    internal long NextRefresh => _view is View.Help or View.Prompt ? long.MaxValue : _nextRefresh;

    internal double Delay => _delay;

    internal int Pid => _pid;

    internal FieldFilter Filter => _filter;

    internal bool ShowsChildren => _showChildren;

    internal bool ShowsGuests => _view == View.Guests;

    /// <summary>
    /// Opens the statistics; the first refresh follows after a quarter of a second. Unlike later
    /// changes, a failure here is thrown: it ends the tool with a plain error before the screen opens.
    /// </summary>
    internal void Start()
    {
        _sampler = Open();
        _sampler.Sample();
        RefreshSoon();
    }

    /// <summary>
    /// What the sampler counts: the fields of the -f the run started with (every field without one),
    /// children included; exit latencies with --latency, or while the latency view is shown (a
    /// key that leaves it, whichever, stops measuring).
    /// </summary>
    private Sampler Open()
    {
        _latency &= _latencyAsked || _view == View.Latency;
        _latencyFromGuests &= _view == View.Latency;
        return _backend.OpenSampler(new FieldSelection(_counted, Children: true), _view == View.Guests ? 0 : _pid, perVm: _view == View.Guests, _latency);
    }

    /// <summary>Shows fields that match <paramref name="filter"/>: counted already, unless the run started with a -f that leaves them out.</summary>
    private void SetFilter(FieldFilter filter)
    {
        _filter = filter;
        if (_counted.IsDefault)
        {
            RefreshNow();
            return;
        }
        _counted = filter;
        Reopen();
    }

    /// <summary>Counts anew (another VM, the per-guest view, or a regex beyond the run's -f): a new sampler, whose baseline is now.</summary>
    private void Reopen()
    {
        if (_sampler is not null)
            _backend.Close(_sampler);
        _sampler = null;
        _error = null;
        try
        {
            _sampler = Open();
            _sampler.Sample();
        }
        catch (KvmStatException e)
        {
            _error = e.Fix is null ? e.Message : $"{e.Message} {e.Fix}";
        }
        RefreshSoon();
    }

    /// <summary>A warning from a source (a locked debugfs, a busy QMP socket), shown on the last row.</summary>
    internal void Notice(string message) => _notice = message;

    /// <summary>Takes a sample now (the loop calls it when due); the next is due after the delay.</summary>
    internal void Refresh()
    {
        _nextRefresh = _time.GetTimestamp() + (long)(_delay * _time.TimestampFrequency);
        if (_sampler is null)
            return;
        _sampler.Sample();
        _guestDead = _view is View.Main or View.Latency && !_sampler.Snapshot.VmAlive;
        _latencyRows.Update(_sampler.Snapshot.Latencies, ShownLatencies(_sampler.Snapshot.Latencies), _sampler.Snapshot.Host.IntervalSeconds);
        int guests = _sampler.Snapshot.Guests?.Guests.Count ?? 0;
        _selectedGuest = Math.Clamp(_selectedGuest, 0, Math.Max(0, guests - 1));
    }

    /// <summary>
    /// While the watched guest is dead (its last numbers stay on screen): picks up a guest of the
    /// same name once one runs. The loop calls it after a refresh.
    /// </summary>
    internal void FollowGuest()
    {
        if (_guestDead && _guestName is { Length: > 0 } name && _backend.PidsNamed(name) is [int newPid])
        {
            _pid = newPid;
            _guestDead = false;
            Reopen();
        }
    }

    /// <summary>A key press. Most keys also ask for a refresh at once.</summary>
    internal void OnKey(Key key)
    {
        switch (_view)
        {
            case View.Help:
                _view = _viewBeforeHelp;
                RefreshSoon();
                return;
            case View.Prompt:
                OnPromptKey(key);
                return;
            case View.Guests when key.Kind is KeyKind.Up or KeyKind.Down or KeyKind.PageUp or KeyKind.PageDown or KeyKind.Home or KeyKind.End:
                MoveSelection(key.Kind);
                return;
            case View.Guests when key.Kind == KeyKind.Enter:
                if (_sampler?.Snapshot.Guests is { Guests.Count: > 0 } guests)
                    SelectPid(SortedGuests(guests)[_selectedGuest].Pid);
                return;
        }

        if (key.Kind == KeyKind.Interrupt || key.Is('q'))
            QuitRequested = true;
        else if (key.Kind == KeyKind.Char)
            OnCommand(key.Char);
        else
            RefreshNow();
    }

    /// <summary>A command key (InteractiveCommands lists them): one case per key, so the switch reads as the table of what each does.</summary>
    private void OnCommand(char command)
    {
        switch (command)
        {
            case 'b':
                if (_latencyFromGuests)
                {
                    // The guest was the latency view's, picked in the guest view: not one to watch.
                    _pid = 0;
                    _guestName = null;
                }
                _view = _view == View.Guests ? View.Main : View.Guests;
                _selectedGuest = 0;
                Reopen();
                break;
            case 'c':
                ClearFilters();
                break;
            case 'f':
                OpenPrompt(PromptKind.Regex);
                break;
            case 'g':
            case 'p':
                OpenPrompt(PromptKind.Vm);
                break;
            case 'l':
                ToggleLatency();
                break;
            case 'h':
                _viewBeforeHelp = _view;
                _view = View.Help;
                break;
            case 'o':
                _sortByTotal = !_sortByTotal;
                RefreshNow();
                break;
            case 'r':
                _sampler?.ResetTotals();
                RefreshNow();
                break;
            case 's':
                OpenPrompt(PromptKind.Delay);
                break;
            case 'x':
                _showChildren = !_showChildren;
                // In the guest view x shows vCPUs, which only --vcpus counts: say so rather than do nothing.
                if (_view == View.Guests && _sampler?.Snapshot.Guests is { VcpuFields.Count: 0 })
                    _notice = VcpusNeedOption;
                RefreshNow();
                break;
            default:
                RefreshNow();
                break;
        }
    }

    /// <summary>'c': every VM, every field, the events view; counts anew only if what is counted changes.</summary>
    private void ClearFilters()
    {
        // Leaving the latency view stops measuring unless --latency asked for it.
        bool recount = _pid != 0 || _view == View.Guests || !_counted.IsDefault || (_latency && !_latencyAsked);
        _filter = FieldFilter.Default;
        _counted = FieldFilter.Default;
        _pid = 0;
        _guestName = null;
        _guestDead = false;
        _view = View.Main;
        if (recount)
            Reopen();
        else
            RefreshNow();
    }

    private void RefreshNow() => _nextRefresh = _time.GetTimestamp();

    private void RefreshSoon() => _nextRefresh = _time.GetTimestamp() + (long)(InitialDelay * _time.TimestampFrequency);

    private void SelectPid(int pid)
    {
        _pid = pid;
        _guestName = pid > 0 ? _backend.NameOf(pid) : null;
        _guestDead = false;
        _view = View.Main;
        Reopen();
    }

    /// <summary>A delay as the reference's prompts show it: "3.0".</summary>
    internal static string FormatDelay(double delay) => delay.ToString("0.0", CultureInfo.InvariantCulture);
}
