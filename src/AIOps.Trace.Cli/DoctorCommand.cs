using System.Text.Encodings.Web;
using System.Text.Json;
using AIOps.Trace.Bpf;
using AIOps.Trace.Contracts;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace doctor`: what this machine lets the tracer use, each feature yes/no with why
/// not, and the tier `snapshot` would pick. Always exit code 0: a missing feature is an answer.
/// </summary>
internal static class DoctorCommand
{
    public static int Run(Arguments a)
    {
        bool json = a.Flag("json");
        string? btf = a.Value("btf");
        if (btf is { Length: 0 })
            throw new UsageException("--btf '' is empty: expected a BTF file or a BTFHub archive directory");

        // A --btf that is missing, corrupt or has no file for this kernel is bad input (exit 2), not a finding.
        KernelFeatures f = KernelFeatures.Probe("/", btf);
        if (json)
        {
            using Stream stdout = Console.OpenStandardOutput();
            using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                WriteJson(w, f);
            stdout.WriteByte((byte)'\n');
        }
        else
        {
            WriteText(Console.Out, f);
        }
        return Program.ExitOk;
    }

    internal static void WriteText(TextWriter o, KernelFeatures f)
    {
        o.WriteLine($"{"kernel release",-18} {f.Release}");
        foreach (FeatureCheck c in f.Features)
            o.WriteLine($"{c.Name,-18} {YesNo(c.Available),-4} {c.Detail}");
        o.WriteLine($"{"cgroup layout",-18} {f.CgroupLayout}");
        foreach (ControllerMount m in f.Controllers)
            o.WriteLine($"  {m.Controller,-16} v{m.Version}   {m.MountPoint}");
        o.WriteLine($"{"capabilities",-18} {string.Join("  ", f.Capabilities.Select(c => $"{c.Name} {YesNo(c.Available)}"))}");
        TierChoice t = f.Tier;
        o.WriteLine(t.Mode == TierMode.Procfs
            ? $"{"chosen tier",-18} procfs sampling, throttling from {t.ThrottleSource.Name()} ({t.Why})"
            : $"{"chosen tier",-18} eBPF: {t.Transport.Name()} + {t.Attach.Name()}, throttling from {t.ThrottleSource.Name()} (throttle hook {t.ThrottleHook.Name()}) ({t.Why})");
        foreach (TierAttempt tried in t.Attempts.Where(a => !a.Succeeded))
            o.WriteLine($"{"tried",-18} {tried.Attach.Name()} + throttle hook {tried.Hook.Name()}: {tried.Failure}");
        o.WriteLine($"{"cgroup ids",-18} {t.CgroupId}: {t.CgroupIdWhy}");
        if (t.CannotMeasure.Count == 0)
            o.WriteLine($"{"cannot measure",-18} nothing the engine reports is missing");
        foreach (string gap in t.CannotMeasure)
            o.WriteLine($"{"cannot measure",-18} {gap}");
    }

    /// <summary>
    /// The same facts as one JSON object, written by hand (no reflection: NativeAOT-safe). The
    /// relaxed encoder keeps "5.8+" readable; the output is a terminal or a file, never HTML.
    /// </summary>
    internal static void WriteJson(Utf8JsonWriter w, KernelFeatures f) =>
        JsonSerializer.Serialize(w, DoctorDocument.From(f), TraceJson.Default.DoctorDocument);

    private static string YesNo(bool b) => b ? "yes" : "no";
}
