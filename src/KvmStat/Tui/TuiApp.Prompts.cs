using System.Globalization;
using KvmStat.Guests;
using KvmStat.Stats;

namespace KvmStat.Tui;

/// <summary>The one-line prompts ('f', 'p', 'g', 's'): their keys, their answers, their drawing.</summary>
internal sealed partial class TuiApp
{
    private void OpenPrompt(PromptKind kind)
    {
        _prompt = new Prompt(kind, _view == View.Guests);
        // The pid and guest prompts list the running guests: read once, when the prompt opens.
        if (kind is PromptKind.Pid or PromptKind.Guest)
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
    /// Applies an answer, or keeps the prompt open with the reference's message for a bad one: each
    /// kind's Submit applies its answer and returns null, or returns why the answer is refused.
    /// </summary>
    private void Submit(Prompt prompt, string input)
    {
        string? rejection = prompt.Kind switch
        {
            PromptKind.Regex => SubmitRegex(input),
            PromptKind.Pid => SubmitPid(input),
            PromptKind.Guest => SubmitGuest(input),
            PromptKind.Delay => SubmitDelay(input),
            _ => throw new ArgumentOutOfRangeException(nameof(prompt), prompt.Kind, "a prompt of no kind"),
        };
        if (rejection is not null)
            prompt.Message = $"\"{Text.EscapeControls(input)}\": {rejection}";
    }

    private string? SubmitRegex(string input)
    {
        FieldFilter? filter = FieldFilter.Default;
        if (input.Length > 0 && !FieldFilter.TryCreate(input, out filter, out string? error))
            return $"not a valid regular expression: {error}";
        ClosePrompt();
        SetFilter(filter!);
        return null;
    }

    /// <summary>A pid (0: all VMs) the screen may show: <see cref="GuestFinder.CheckPid"/> decides, in the reference's words.</summary>
    private string? SubmitPid(string input)
    {
        int pid = 0;
        if (input.Length > 0 && !int.TryParse(input.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out pid))
            return "Not a valid pid";
        if (pid != 0)
        {
            string? rejection = _backend.CheckPid(pid).Verdict switch
            {
                // A thread is not a process the screen can follow.
                PidVerdict.NotRunning or PidVerdict.Thread => "Not a running process",
                PidVerdict.NotVm => "Not a KVM guest",
                _ => null,
            };
            if (rejection is not null)
                return rejection;
        }
        _prompt = null;
        SelectPid(pid);
        return null;
    }

    private string? SubmitGuest(string input)
    {
        int pid = 0;
        if (input.Length > 0)
        {
            IReadOnlyList<int> pids = _backend.PidsNamed(input);
            if (pids.Count == 0)
                return "Not an active guest";
            if (pids.Count > 1)
                return "Multiple matches found, use pid filter instead";
            pid = pids[0];
        }
        _prompt = null;
        SelectPid(pid);
        if (pid != 0)
            _guestName = input;
        return null;
    }

    private string? SubmitDelay(string input)
    {
        double delay = SampleInterval.Default;
        if (input.Length > 0)
        {
            string? rejection = SampleInterval.Parse(input, out delay) switch
            {
                SampleInterval.Verdict.NotANumber => "Invalid value",
                SampleInterval.Verdict.TooShort => $"Value must be >={SampleInterval.Format(SampleInterval.Min)}",
                SampleInterval.Verdict.TooLong => $"Value must be <={SampleInterval.Format(SampleInterval.Max)}",
                _ => null,
            };
            if (rejection is not null)
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
            case PromptKind.Pid:
                DrawVmPrompt(grid, "Show statistics for specific pid.", "Pid [0 or pid]: ", input, prompt.Message);
                break;
            case PromptKind.Guest:
                DrawVmPrompt(grid, "Show statistics for specific guest.", "Guest [ENTER or guest]: ", input, prompt.Message);
                break;
            case PromptKind.Delay:
                grid.Write(0, 0, $"Set update interval (defaults to {FormatDelay(SampleInterval.Default)}s).", TextStyle.Bold);
                grid.Write(2, grid.Write(2, 0, $"Change delay from {FormatDelay(_delay)}s to "), input);
                grid.Write(4, 0, prompt.Message);
                break;
        }
    }

    /// <summary>The pid and guest prompts: a title, the answer so far, the last rejection, the running guests.</summary>
    private void DrawVmPrompt(ScreenGrid grid, string title, string label, string input, string message)
    {
        grid.Write(0, 0, title, TextStyle.Bold);
        grid.Write(1, 0, "This might limit the shown data to the trace statistics.");
        grid.Write(3, grid.Write(3, 0, label), input);
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
