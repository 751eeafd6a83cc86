using System.Globalization;
using System.Text;
using KvmStat.Cli;
using KvmStat.Stats;

namespace KvmStat.Tui;

internal enum PromptKind { Regex, Pid, Guest, Delay }

/// <summary>A one-line input the screen asks for, with the message of the last rejected answer.</summary>
internal sealed class Prompt(PromptKind kind, bool returnToGuests)
{
    internal const int MaxInput = 256;

    internal PromptKind Kind { get; } = kind;

    internal bool ReturnToGuests { get; } = returnToGuests;

    internal StringBuilder Input { get; } = new();

    internal string Message { get; set; } = "";
}

internal sealed partial class TuiApp
{
    private void OpenPrompt(PromptKind kind)
    {
        _prompt = new Prompt(kind, _view == View.Guests);
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
                if (input.Length == 0)
                {
                    _filter = FieldFilter.Default;
                }
                else if (FieldFilter.TryCreate(input, out FieldFilter? filter, out string? error))
                {
                    _filter = filter;
                }
                else
                {
                    prompt.Message = $"\"{shown}\": not a valid regular expression: {error}";
                    return;
                }
                ClosePrompt();
                Reopen();
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
                double delay = Options.DefaultDelay;
                if (input.Length > 0)
                {
                    if (!double.TryParse(input.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out delay) || !double.IsFinite(delay))
                    {
                        prompt.Message = $"\"{shown}\": Invalid value";
                        return;
                    }
                    if (delay < Options.MinDelay)
                    {
                        prompt.Message = $"\"{shown}\": Value must be >=0.1";
                        return;
                    }
                    if (delay > Options.MaxDelay)
                    {
                        prompt.Message = $"\"{shown}\": Value must be <=25.5";
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
