using System.Text.Json;

namespace AIOps.Trace.KernelMatrix;

/// <summary>
/// One guest boot as tests/kernel-matrix/run.sh left it: boot.txt (accel, seconds, qemu exit, the
/// kernel command line) and the "AIOPS key value" lines the guest's init printed on its second
/// serial port (tests/kernel-matrix/init).
/// </summary>
internal sealed class GuestLog
{
    private readonly List<string> _lines;

    private GuestLog(string release, string layout, IReadOnlyDictionary<string, string> boot, List<string> lines)
    {
        Release = release;
        Layout = layout;
        Boot = boot;
        _lines = lines;
    }

    /// <summary>The kernel release (uname -r of the booted image).</summary>
    public string Release { get; }

    /// <summary>"hybrid" (v1 controllers + empty v2) or "v2" (pure cgroup v2).</summary>
    public string Layout { get; }

    /// <summary>boot.txt's key=value pairs.</summary>
    public IReadOnlyDictionary<string, string> Boot { get; }

    /// <summary>Reads &lt;matrix&gt;/&lt;release&gt;/&lt;layout&gt;/{boot.txt,results.log}.</summary>
    public static GuestLog Read(string matrix, string release, string layout)
    {
        string dir = Path.Combine(matrix, release, layout);
        var boot = File.ReadAllLines(Path.Combine(dir, "boot.txt"))
            .Select(l => l.Split('=', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
        return Parse(release, layout, boot, File.Exists(Path.Combine(dir, "results.log")) ? File.ReadAllLines(Path.Combine(dir, "results.log")) : []);
    }

    /// <summary>The same from text already read (tests).</summary>
    public static GuestLog Parse(string release, string layout, IReadOnlyDictionary<string, string> boot, IEnumerable<string> resultLines) =>
        new(release, layout, boot, resultLines.Where(l => l.StartsWith("AIOPS ", StringComparison.Ordinal)).Select(l => l[6..]).ToList());

    /// <summary>The value of the first line "key value", or null.</summary>
    public string? Line(string key) =>
        _lines.FirstOrDefault(l => l.StartsWith(key + " ", StringComparison.Ordinal))?[(key.Length + 1)..];

    /// <summary>Every line starting with "key ".</summary>
    public IEnumerable<string> Lines(string key) =>
        _lines.Where(l => l.StartsWith(key + " ", StringComparison.Ordinal)).Select(l => l[(key.Length + 1)..]);

    /// <summary>Whether the guest reached its last line.</summary>
    public bool Finished => Line("done") is not null;

    /// <summary>The tiers the guest ran, in order ("auto", "perfbuf:raw_tp:kprobe", ...).</summary>
    public IReadOnlyList<string> Tiers => _lines.Where(l => l.StartsWith("tier ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1]).ToList();

    /// <summary>The JSON document of line "key", or null when absent or not JSON.</summary>
    public JsonElement? Json(string key)
    {
        string? text = Line(key);
        if (text is null || !text.TrimStart().StartsWith('{'))
            return null;
        try
        {
            using JsonDocument d = JsonDocument.Parse(text);
            return d.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// cpu.stat printed on one line, throttled time in ns whatever the layout: v1 gives
    /// throttled_time (ns), v2 throttled_usec (Documentation/admin-guide/cgroup-v2.rst, "cpu.stat").
    /// Null unless periods, throttled periods and throttled time are all there.
    /// </summary>
    public static Dictionary<string, long>? CpuStat(string? line)
    {
        if (line is null)
            return null;
        Dictionary<string, long> d = Pairs(line);
        if (!d.ContainsKey("throttled_time") && d.TryGetValue("throttled_usec", out long us))
            d["throttled_time"] = us * 1000;
        return d.ContainsKey("throttled_time") && d.ContainsKey("nr_throttled") && d.ContainsKey("nr_periods") ? d : null;
    }

    /// <summary>
    /// The memory cgroup's limit and OOM counters from "key value" pairs on one line: v2
    /// memory.events ("max", "oom_kill"), v1 memory.oom_control ("oom_kill", 4.13+) and
    /// memory.failcnt (printed as "failcnt"), the v1 names mapped onto the v2 ones.
    /// </summary>
    public static (long LimitHits, long OomKills)? MemoryEvents(string? line)
    {
        if (line is null)
            return null;
        Dictionary<string, long> d = Pairs(line);
        long hits = d.TryGetValue("max", out long m) ? m : d.TryGetValue("failcnt", out long c) ? c : -1;
        return d.TryGetValue("oom_kill", out long oom) ? (hits, oom) : null;
    }

    /// <summary>"key value key value ..." on one line as a map; a value that is not a number is left out.</summary>
    private static Dictionary<string, long> Pairs(string line)
    {
        string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var d = new Dictionary<string, long>();
        for (int i = 0; i + 1 < f.Length; i += 2)
            if (long.TryParse(f[i + 1], out long v))
                d[f[i]] = v;
        return d;
    }
}
