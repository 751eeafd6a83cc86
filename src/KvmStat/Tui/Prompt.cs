using System.Text;
using KvmStat.Guests;

namespace KvmStat.Tui;

/// <summary>A one-line input the screen asks for, with the message of the last rejected answer.</summary>
internal sealed class Prompt(PromptKind kind, bool returnToGuests)
{
    internal const int MaxInput = 256;

    internal PromptKind Kind { get; } = kind;

    internal bool ReturnToGuests { get; } = returnToGuests;

    internal StringBuilder Input { get; } = new();

    internal string Message { get; set; } = "";

    /// <summary>The running guests the pid and guest prompts list, read when the prompt opened.</summary>
    internal IReadOnlyList<GuestProcess> Guests { get; set; } = [];
}
