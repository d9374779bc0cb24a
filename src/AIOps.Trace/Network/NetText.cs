namespace AIOps.Trace.Network;

/// <summary>One interface's cumulative counters from <c>/proc/&lt;pid&gt;/net/dev</c>.</summary>
public readonly record struct InterfaceCounters(string Name, ulong RxBytes, ulong TxBytes, ulong TxPackets, ulong TxDrops);

/// <summary>The namespace's cumulative TCP segment counters from the <c>Tcp:</c> lines of <c>/proc/&lt;pid&gt;/net/snmp</c>.</summary>
public readonly record struct TcpCounters(ulong OutSegs, ulong RetransSegs);

/// <summary>
/// Parsers of the per-namespace procfs network files. They read the text a task's
/// <c>/proc/&lt;pid&gt;/net/</c> shows, which is that task's network namespace, skip lines they
/// do not understand and say how many they skipped, so a malformed line never costs the rest.
/// </summary>
public static class NetText
{
    /// <summary>
    /// <c>net/dev</c>: two header lines, then "name: 8 receive counters 8 transmit counters" per
    /// interface (net/core/net-procfs.c, dev_seq_printf_stats). The name ends at the first ':',
    /// which an interface name cannot hold (dev_valid_name); with large counters no space follows it.
    /// </summary>
    public static IReadOnlyList<InterfaceCounters> ParseNetDev(string text, out int skippedLines)
    {
        var interfaces = new List<InterfaceCounters>();
        skippedLines = 0;
        Span<ulong> fields = stackalloc ulong[16];
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            ReadOnlySpan<char> line = raw.Trim();
            if (line.IsEmpty || line.Contains('|'))
                continue; // the two header lines are the ones with '|'
            int colon = line.IndexOf(':');
            if (colon <= 0 || !TryParseFields(line[(colon + 1)..], fields, out int count) || count < 16)
            {
                skippedLines++;
                continue;
            }
            // Receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop ...
            interfaces.Add(new InterfaceCounters(line[..colon].Trim().ToString(), fields[0], fields[8], fields[9], fields[11]));
        }
        return interfaces;
    }

    /// <summary>
    /// <c>net/snmp</c>: each protocol is a pair of lines, names then values, both starting
    /// "Tcp:" (net/ipv4/proc.c, snmp_seq_show_tcp_udp). Null when the pair is missing, the two
    /// lines differ in length, or either counter is absent or not a number.
    /// </summary>
    public static TcpCounters? ParseSnmpTcp(string text)
    {
        string? names = null;
        foreach (string line in text.Split('\n'))
        {
            if (!line.StartsWith("Tcp:", StringComparison.Ordinal))
                continue;
            if (names is null)
            {
                names = line;
                continue;
            }
            string[] keys = names.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (keys.Length != values.Length)
                return null;
            int outAt = Array.IndexOf(keys, "OutSegs"), retransAt = Array.IndexOf(keys, "RetransSegs");
            if (outAt < 0 || retransAt < 0
                || !ulong.TryParse(values[outAt], out ulong outSegs) || !ulong.TryParse(values[retransAt], out ulong retrans))
                return null;
            return new TcpCounters(outSegs, retrans);
        }
        return null;
    }

    private static bool TryParseFields(ReadOnlySpan<char> text, Span<ulong> fields, out int count)
    {
        count = 0;
        foreach (Range r in text.Split(' '))
        {
            ReadOnlySpan<char> field = text[r];
            if (field.IsEmpty)
                continue;
            if (count == fields.Length || !ulong.TryParse(field, out fields[count]))
                return false;
            count++;
        }
        return true;
    }
}
