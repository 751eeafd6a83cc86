namespace KvmStat.Tui;

/// <summary>What a prompt asks for: a regular expression ('f'), a guest or pid ('g', 'p'), a delay ('s').</summary>
internal enum PromptKind { Regex, Vm, Delay }
