using System.Globalization;
using System.Text;
using KvmStat.Stats;

namespace KvmStat.Tui;

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

    /// <summary>Applies an answer, or keeps the prompt open with the reference's message for a bad one.</summary>
    private void Submit(Prompt prompt, string input)
    {
        string shown = Text.EscapeControls(input);
        switch (prompt.Kind)
        {
            case PromptKind.Regex:
                FieldFilter? filter = FieldFilter.Default;
                if (input.Length > 0 && !FieldFilter.TryCreate(input, out filter, out string? error))
                {
                    prompt.Message = $"\"{shown}\": not a valid regular expression: {error}";
                    return;
                }
                ClosePrompt();
                SetFilter(filter!);
                return;

            case PromptKind.Pid:
                int pid = 0;
                if (input.Length > 0 && !int.TryParse(input.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out pid))
                {
                    prompt.Message = $"\"{shown}\": Not a valid pid";
                    return;
                }
                if (pid != 0 && !_backend.IsRunning(pid))
                {
                    prompt.Message = $"\"{shown}\": Not a running process";
                    return;
                }
                if (pid != 0 && _backend.HoldsVm(pid) == false)
                {
                    prompt.Message = $"\"{shown}\": Not a KVM guest";
                    return;
                }
                _prompt = null;
                SelectPid(pid);
                return;

            case PromptKind.Guest:
                if (input.Length == 0)
                {
                    _prompt = null;
                    SelectPid(0);
                    return;
                }
                IReadOnlyList<int> pids = _backend.PidsNamed(input);
                if (pids.Count == 0)
                {
                    prompt.Message = $"\"{shown}\": Not an active guest";
                    return;
                }
                if (pids.Count > 1)
                {
                    prompt.Message = $"\"{shown}\": Multiple matches found, use pid filter instead";
                    return;
                }
                _prompt = null;
                SelectPid(pids[0]);
                _guestName = input;
                return;

            case PromptKind.Delay:
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
                    {
                        prompt.Message = $"\"{shown}\": {rejection}";
                        return;
                    }
                }
                _delay = delay;
                ClosePrompt();
                RefreshSoon();
                return;
        }
    }
}
