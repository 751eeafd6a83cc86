using System.Globalization;
using KvmStat.Guests;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>
/// The interactive screen's state and drawing, apart from any terminal: keys come in through
/// <see cref="OnKey"/>, samples through <see cref="Refresh"/>, and <see cref="Draw"/> paints a
/// <see cref="ScreenGrid"/>. <see cref="TuiLoop"/> drives it with real time and a real terminal;
/// tests drive it directly.
/// </summary>
internal sealed partial class TuiApp
{
    internal const double InitialDelay = 0.25;
    /// <summary>Like the reference, the table (header, rows, Total) starts at column 1; column 0 stays blank.</summary>
    internal const int TableColumn = 1;

    /// <summary>"%-40s %10s%7s %8s": label, total, %Total, CurAvg/s.</summary>
    internal const int TableWidth = 40 + 1 + 10 + 7 + 1 + 8;

    internal const int MinColumns = TableColumn + TableWidth;
    internal const int MinRows = 6;
    private const int LabelWidth = 40;
    private const int MaxGuestNameLength = 48;
    private const int MaxRegexLength = 44;

    private readonly ITuiBackend _backend;
    private readonly TimeProvider _time;
    private Sampler? _sampler;
    private GuestStats? _guests;
    private FieldFilter _filter;
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
    private long _nextRefresh;

    private enum View { Main, Guests, Help, Prompt }

    internal TuiApp(ITuiBackend backend, FieldFilter filter, int pid, string? guestName, double delay, TimeProvider time)
    {
        _backend = backend;
        _time = time;
        _filter = filter;
        _pid = pid;
        _guestName = guestName ?? (pid > 0 ? backend.NameOf(pid) : null);
        _delay = delay;
    }

    internal bool QuitRequested { get; private set; }

    /// <summary>When the next sample is due (a timestamp of the screen's clock); long.MaxValue while a prompt is open.</summary>
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
        _sampler = _backend.OpenSampler(Selection, _pid);
        _sampler.Sample();
        RefreshSoon();
    }

    private FieldSelection Selection =>
        new(_showChildren && _filter.IsDefault ? FieldFilter.All : _filter, _showChildren);

    private void Reopen()
    {
        if (_sampler is not null)
            _backend.Close(_sampler);
        _sampler = null;
        if (_guests is not null)
            _backend.Close(_guests);
        _guests = null;
        _error = null;
        try
        {
            if (_view == View.Guests)
                _guests = _backend.OpenGuestStats(Selection);
            else
                _sampler = _backend.OpenSampler(Selection, _pid);
            // The baseline: the first refresh shows the events since now.
            _sampler?.Sample();
            _guests?.Sample();
        }
        catch (KvmStatException e)
        {
            _error = e.Message;
        }
        RefreshSoon();
    }

    /// <summary>A warning from a source (a locked debugfs, a busy QMP socket), shown on the last row.</summary>
    internal void Notice(string message) => _notice = message;

    /// <summary>Takes a sample now (the loop calls it when due); the next is due after the delay.</summary>
    internal void Refresh()
    {
        _nextRefresh = _time.GetTimestamp() + (long)(_delay * _time.TimestampFrequency);
        if (_view == View.Guests)
        {
            _guests?.Sample();
            _selectedGuest = Math.Clamp(_selectedGuest, 0, Math.Max(0, (_guests?.Guests.Count ?? 1) - 1));
            return;
        }
        if (_pid > 0 && !_backend.IsRunning(_pid))
        {
            // Leave the last numbers on screen; pick the guest up again if one of that name starts.
            _guestDead = true;
            if (_guestName is { Length: > 0 } name && _backend.PidsNamed(name) is [int newPid])
            {
                _pid = newPid;
                _guestDead = false;
                Reopen();
            }
            return;
        }
        _guestDead = false;
        _sampler?.Sample();
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
                if (_guests is { Guests.Count: > 0 } guests)
                    SelectPid(SortedGuests(guests)[_selectedGuest].Pid);
                return;
        }

        if (key.Kind == KeyKind.Interrupt || key.Is('q'))
        {
            QuitRequested = true;
            return;
        }
        if (key.Kind != KeyKind.Char)
        {
            RefreshNow();
            return;
        }
        switch (key.Char)
        {
            case 'b':
                _view = _view == View.Guests ? View.Main : View.Guests;
                _selectedGuest = 0;
                Reopen();
                break;
            case 'c':
                _filter = FieldFilter.Default;
                _pid = 0;
                _guestName = null;
                _guestDead = false;
                if (_view == View.Guests)
                    _view = View.Main;
                Reopen();
                break;
            case 'f':
                OpenPrompt(PromptKind.Regex);
                break;
            case 'g':
                OpenPrompt(PromptKind.Guest);
                break;
            case 'h':
                _viewBeforeHelp = _view;
                _view = View.Help;
                break;
            case 'o':
                _sortByTotal = !_sortByTotal;
                RefreshNow();
                break;
            case 'p':
                OpenPrompt(PromptKind.Pid);
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
                Reopen();
                break;
            default:
                RefreshNow();
                break;
        }
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

    private void MoveSelection(KeyKind kind)
    {
        int count = _guests?.Guests.Count ?? 0;
        _selectedGuest = kind switch
        {
            KeyKind.Up => _selectedGuest - 1,
            KeyKind.Down => _selectedGuest + 1,
            KeyKind.PageUp => _selectedGuest - 10,
            KeyKind.PageDown => _selectedGuest + 10,
            KeyKind.Home => 0,
            _ => count - 1,
        };
        _selectedGuest = Math.Clamp(_selectedGuest, 0, Math.Max(0, count - 1));
    }

    /// <summary>The current guest name for the title: escaped, cut at 48 characters.</summary>
    private string TitleName()
    {
        string name = Text.Escape(_guestName ?? "");
        if (name.Length > MaxGuestNameLength)
            name = name[..MaxGuestNameLength] + "...";
        return name.Length > 0 ? $"({name})" : "";
    }

    internal static string FormatDelay(double delay) => delay.ToString("0.0", CultureInfo.InvariantCulture);
}
