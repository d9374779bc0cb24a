using AIOps.Trace.Tests.Shared;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Every C# mirror of a BPF record has the size and field offsets of bpf/aiops_sched.h: the test
/// writes what C# reports as _Static_asserts and lets the C compiler check them against the header.
/// </summary>
public sealed class StructLayoutTests
{
    [Fact]
    public void Csharp_mirrors_match_the_c_header()
    {
        var c = new StringBuilder("#include <linux/types.h>\n#include \"aiops_sched.h\"\n#include <stddef.h>\n");
        CLayout.Check<Sample>(c, "aiops_sample", ("CgroupId", "cgroup_id"), ("Value", "value"), ("Kind", "kind"), ("Pid", "pid"));
        CLayout.Check<BatchHeader>(c, "aiops_batch_header", ("Kind", "kind"), ("Count", "count"), ("Cpu", "cpu"), ("Reserved", "reserved"), ("FirstNs", "first_ns"));
        CLayout.Check<ThrottleRecord>(c, "aiops_throttle_record", ("Kind", "kind"), ("Cpu", "cpu"), ("CgroupId", "cgroup_id"), ("ThrottledNs", "throttled_ns"), ("EndNs", "end_ns"));
        CLayout.Check<KernelStats>(c, "aiops_stats", ("Samples", "samples"), ("Batches", "batches"), ("LostBatches", "lost_batches"),
            ("LostSamples", "lost_samples"), ("NoWakeupStamp", "no_wakeup_stamp"), ("ClockBackwards", "clock_backwards"),
            ("StampMapFull", "stamp_map_full"), ("Throttles", "throttles"), ("LostThrottles", "lost_throttles"),
            ("UnknownCgroup", "unknown_cgroup"), ("ThrottleMapFull", "throttle_map_full"));
        c.AppendLine($"_Static_assert(AIOPS_BATCH_SAMPLES == {BatchHeader.MaxSamples}, \"batch size\");");
        foreach (RecordKind k in Enum.GetValues<RecordKind>())
            c.AppendLine($"_Static_assert(AIOPS_REC_{(k == RecordKind.Batch ? "BATCH" : "THROTTLE")} == {(uint)k}, \"record kind {k}\");");
        (string name, SampleKind kind)[] kinds = [("RUNQ", SampleKind.RunQueue), ("PREEMPT_SAME", SampleKind.PreemptedBySameCgroup),
            ("PREEMPT_OTHER", SampleKind.PreemptedByOtherCgroup), ("PREEMPT_HOST", SampleKind.PreemptedByHost)];
        foreach ((string name, SampleKind kind) in kinds)
            c.AppendLine($"_Static_assert(AIOPS_SAMPLE_{name} == {(uint)kind}, \"sample kind {name}\");");

        CLayout.AssertCompiles(c, "bpf/aiops_sched.h", Path.Combine(RepoRoot(), "bpf"));
    }


    [Fact]
    public void Perf_buffer_mirrors_match_the_shim_and_kernel_headers()
    {
        var c = new StringBuilder("#include <linux/perf_event.h>\n#include \"aiops.h\"\n#include <stddef.h>\n");
        CLayout.Check<Interop.Interop.PerfCpu>(c, "aiops_perf_cpu", ("Base", "base"), ("MmapSize", "mmap_size"), ("Cpu", "cpu"), ("Fd", "fd"));
        (string field, int offset)[] page = [("data_head", Rings.PerfBuffer.DataHeadOffset), ("data_tail", Rings.PerfBuffer.DataTailOffset),
            ("data_offset", Rings.PerfBuffer.DataOffsetOffset), ("data_size", Rings.PerfBuffer.DataSizeOffset)];
        foreach ((string field, int offset) in page)
            c.AppendLine($"_Static_assert(offsetof(struct perf_event_mmap_page, {field}) == {offset}, \"perf_event_mmap_page.{field}\");");
        c.AppendLine($"_Static_assert(PERF_RECORD_SAMPLE == {Rings.PerfBuffer.RecordSample} && PERF_RECORD_LOST == {Rings.PerfBuffer.RecordLost}, \"record types\");");
        c.AppendLine($"_Static_assert(sizeof(struct perf_event_header) == {Rings.PerfBuffer.HeaderSize}, \"perf_event_header\");");

        string file = Path.Combine(Path.GetTempPath(), $"aiops-perf-layout-{Guid.NewGuid():N}.c");
        File.WriteAllText(file, c.ToString());
        try
        {
            var psi = new ProcessStartInfo("cc", $"-fsyntax-only -I {Path.Combine(RepoRoot(), "native")} {file}")
            { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using Process p = Process.Start(psi)!;
            string errors = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "layout differs from native/aiops.h or linux/perf_event.h:\n" + errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    internal static string RepoRoot()
    {
        string? env = Environment.GetEnvironmentVariable("AIOPS_TRACE_REPO_ROOT");
        if (!string.IsNullOrEmpty(env))
            return env;
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "AIOps.Trace.sln")))
                return dir;
        throw new InvalidOperationException("cannot find the repository root (AIOps.Trace.sln) above " + AppContext.BaseDirectory);
    }
}
