using System.Globalization;
using System.Text;
using KvmStat.Stats;

namespace KvmStat.Tui;

internal enum PromptKind { Regex, Pid, Guest, Delay }
