using System.Globalization;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>The one-line prompts ('f', 'g' or 'p', 's'): their keys, their answers, their drawing.</summary>
internal sealed partial class TuiApp
{
    private void OpenPrompt(PromptKind kind)
    {
        _prompt = new Prompt(kind, _view == View.Guests);
        // The guest-or-pid prompt lists the running guests: read once, when the prompt opens.
        if (kind is PromptKind.Vm)
            _prompt.Guests = _backend.ListGuests();
        _view = View.Prompt;
    }

    private void ClosePrompt()
    {
        _view = _prompt?.ReturnToGuests == true ? View.Guests : View.Main;
        _prompt = null;
    }

    private void OnPromptKey(Key key)
    {
        Prompt prompt = _prompt!;
        switch (key.Kind)
        {
            case KeyKind.Char when !char.IsControl(key.Char) && prompt.Input.Length < Prompt.MaxInput:
                prompt.Input.Append(key.Char);
                return;
            case KeyKind.ClearLine:
                prompt.Input.Clear();
                return;
            case KeyKind.Backspace when prompt.Input.Length > 0:
                prompt.Input.Length--;
                return;
            case KeyKind.Escape:
                ClosePrompt();
                RefreshSoon();
                return;
            case KeyKind.Interrupt:
                QuitRequested = true;
                return;
            case KeyKind.Enter:
                Submit(prompt, prompt.Input.ToString());
                return;
        }
    }

    /// <summary>
    /// Applies an answer, or asks again with the reference's message for a bad one (the input
    /// cleared, as the reference's prompt starts over): each kind's Submit applies its answer and
    /// returns null, or returns why the answer is refused.
    /// </summary>
    private void Submit(Prompt prompt, string input)
    {
        string? rejection = prompt.Kind switch
        {
            PromptKind.Regex => SubmitRegex(input),
            PromptKind.Vm => SubmitVm(input),
            PromptKind.Delay => SubmitDelay(input),
            _ => throw new ArgumentOutOfRangeException(nameof(prompt), prompt.Kind, "a prompt of no kind"),
        };
        if (rejection is null)
            return;
        prompt.Message = rejection;
        prompt.Input.Clear();
    }

    /// <summary>The rejected answer in quotes, made safe to show, and why.</summary>
    private static string Refused(string input, string why) => $"\"{Text.EscapeControls(input)}\": {why}";

    private string? SubmitRegex(string input)
    {
        FieldFilter? filter = FieldFilter.Default;
        if (input.Length > 0 && !FieldFilter.TryCreate(input, out filter, out _))
            return Refused(input, "Not a valid regular expression");
        // Tried on the fields shown now, so that a pattern too slow to match leaves the view as it was.
        if (_sampler is not null && !filter!.IsDefault && filter.Backtracks)
        {
            foreach (StatField field in _sampler.Snapshot.Host.Fields.All)
                filter.Matches(field.Name);
            if (filter.TimedOutOn is not null)
                return Refused(input, "Takes over a second to match a field");
        }
        ClosePrompt();
        SetFilter(filter!);
        return null;
    }

    /// <summary>
    /// 'g' and 'p', as the reference's one prompt: nothing or 0 shows all VMs, digits are a pid (that
    /// <see cref="GuestFinder.CheckPid"/> finds running a VM), anything else a guest's name.
    /// </summary>
    private string? SubmitVm(string input)
    {
        int pid = 0;
        string name = input;
        if (input.Length > 0 && input.All(char.IsAsciiDigit))
        {
            if (!int.TryParse(input, NumberStyles.None, CultureInfo.InvariantCulture, out pid))
                return Refused(input, "Not a running process");
            // "0" is every VM; "00" names a process that is not there, as the reference finds.
            string? rejection = pid == 0 ? (input == "0" ? null : "Not a running process") : _backend.CheckPid(pid).Verdict switch
            {
                // A thread is not a process the screen can follow.
                PidVerdict.NotRunning or PidVerdict.Thread => "Not a running process",
                PidVerdict.NotVm => "Not a KVM guest",
                _ => null,
            };
            if (rejection is not null)
                return Refused(input, rejection);
            name = "";
        }
        else if (input.Length > 0)
        {
            IReadOnlyList<int> pids = _backend.PidsNamed(input);
            if (pids.Count == 0)
                return Refused(input, "Not an active guest");
            if (pids.Count > 1)
                return Refused(input, "Multiple matches found, use pid filter instead");
            pid = pids[0];
        }
        _prompt = null;
        SelectPid(pid);
        if (pid != 0 && name.Length > 0)
            _guestName = name;
        return null;
    }

    private string? SubmitDelay(string input)
    {
        double delay = SampleInterval.Default;
        if (input.Length > 0)
        {
            SampleInterval.Verdict verdict = SampleInterval.Parse(input, out delay);
            if (verdict == SampleInterval.Verdict.NotANumber)
                return Refused(input, "Invalid value");
            if (SampleInterval.OutOfRange(verdict, delay) is string rejection)
                return rejection;
        }
        _delay = delay;
        ClosePrompt();
        RefreshSoon();
        return null;
    }

    private void DrawPrompt(ScreenGrid grid, Prompt prompt)
    {
        string input = Text.EscapeControls(prompt.Input.ToString());
        switch (prompt.Kind)
        {
            case PromptKind.Regex:
                grid.Write(0, 0, "Show statistics for events matching a regex.", TextStyle.Bold);
                grid.Write(2, 0, "Current regex: " + Text.EscapeControls(_filter.Pattern));
                grid.Write(3, grid.Write(3, 0, "New regex: "), input);
                grid.Write(5, 0, prompt.Message);
                break;
            case PromptKind.Vm:
                DrawVmPrompt(grid, input, prompt.Message);
                break;
            case PromptKind.Delay:
                grid.Write(0, 0, $"Set update interval (defaults to {FormatDelay(SampleInterval.Default)}s).", TextStyle.Bold);
                grid.Write(2, grid.Write(2, 0, $"Change delay from {FormatDelay(_delay)}s to "), input);
                grid.Write(4, 0, prompt.Message);
                break;
        }
    }

    /// <summary>The guest-or-pid prompt: a title, the answer so far, the last rejection, the running guests.</summary>
    private void DrawVmPrompt(ScreenGrid grid, string input, string message)
    {
        grid.Write(0, 0, "Show statistics for specific guest or pid.", TextStyle.Bold);
        grid.Write(1, 0, "This might limit the shown data to the trace statistics.");
        grid.Write(3, grid.Write(3, 0, "Guest or pid [ENTER exits]: "), input);
        grid.Write(5, 0, message);
        DrawGuestList(grid, 7, _prompt!.Guests);
    }

    private static void DrawGuestList(ScreenGrid grid, int row, IReadOnlyList<GuestProcess> guests)
    {
        grid.Write(row, 2, $"{"Pid",8}  {"Guest Name",-60}", TextStyle.Underline);
        row++;
        foreach (GuestProcess guest in guests)
        {
            if (row >= grid.Rows)
                break;
            grid.Write(row++, 2, $"{guest.Pid,8}  {Text.Escape(guest.Name)}");
        }
    }
}
