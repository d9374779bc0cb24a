namespace AIOps.Trace.Cgroups;

/// <summary>
/// The CPU limits a cgroup runs under. v1 and v2 name and scale them differently, so both
/// share and weight are kept as the kernel reported them instead of converting one into the other.
/// </summary>
/// <param name="QuotaUs">CFS bandwidth quota per period in µs; -1 when unlimited or unknown.</param>
/// <param name="PeriodUs">CFS bandwidth period in µs; -1 when unknown.</param>
/// <param name="Shares">v1 <c>cpu.shares</c> (default 1024); -1 on v2 or when unknown.</param>
/// <param name="Weight">v2 <c>cpu.weight</c> (default 100); -1 on v1 or when unknown.</param>
/// <param name="CpusetCpus">CPU list such as "0-3,8"; null when unknown.</param>
public readonly record struct CpuLimits(long QuotaUs, long PeriodUs, long Shares, long Weight, string? CpusetCpus)
{
    /// <summary>Limits of a cgroup whose files could not be read.</summary>
    public static CpuLimits Unknown => new(-1, -1, -1, -1, null);

    /// <summary>The quota as a number of CPUs (quota / period), or null when unlimited.</summary>
    public double? QuotaCpus => QuotaUs < 0 || PeriodUs <= 0 ? null : (double)QuotaUs / PeriodUs;

    /// <summary>Parses v2 <c>cpu.max</c>: "$MAX $PERIOD", where $MAX is "max" when unlimited.</summary>
    public static (long QuotaUs, long PeriodUs) ParseCpuMax(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        int space = text.IndexOf(' ');
        ReadOnlySpan<char> max = space < 0 ? text : text[..space];
        long period = space >= 0 && long.TryParse(text[(space + 1)..].Trim(), out long p) ? p : -1;
        long quota = long.TryParse(max, out long q) ? q : -1; // "max" and garbage alike: no quota
        return (quota, period);
    }
}
