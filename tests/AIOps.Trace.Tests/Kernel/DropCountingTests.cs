using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using AIOps.Trace.Bpf;
using AIOps.Trace.Rings;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>Nothing the kernel side drops goes uncounted: a forced overflow, a short lookup buffer.</summary>
public sealed class DropCountingTests : KernelTestBase
{
    public static TheoryData<TransportMode> Transports => new() { TransportMode.RingBuf, TransportMode.PerfBuf };

    [Theory]
    [MemberData(nameof(Transports))]
    public void A_forced_ring_overflow_is_lost_events_as_the_kernel_counts_it(TransportMode transport)
    {
        // Two pages of ring (per CPU for perf): one 4 KiB batch fits, the pipe benchmark's
        // 600k waits a second overflow it between two polls.
        uint page = (uint)Environment.SystemPageSize;
        TraceEngine engine = StartEngine(new EngineOptions
        {
            Tracer = new TracerOptions { Transport = transport, Attach = AttachMode.TpBtf, RingBytes = 2 * page, PerfBufferBytesPerCpu = 2 * page },
        });
        Assert.Equal(AttachModes.Name(transport), engine.Kernel.Ring);
        engine.CollectWindow().Dispose();

        Process bench = Track(Process.Start(new ProcessStartInfo("taskset", "-c 1 perf bench sched pipe -l 200000")
            { RedirectStandardOutput = true, UseShellExecute = false })!);
        bench.StandardOutput.ReadToEnd();
        Assert.True(bench.WaitForExit(120_000), "perf bench sched pipe did not end");

        using EngineSnapshot s = engine.CollectWindow();
        KernelStats k = s.KernelCounters;
        Assert.True(k.LostSamples > 0, $"the ring did not overflow: {k.Samples} samples delivered, none lost");
        // Everything the programs failed to write is lost_events, and nothing else is.
        Assert.Equal((long)(k.LostSamples + k.LostThrottles), s.LostEvents);
        Assert.Equal(0, s.Unreadable.Records);

        if (engine.Tracer!.Events is PerfBuffer perf)
        {
            // perf counts every failed output in the ring itself and reports it in a
            // PERF_RECORD_LOST ahead of the next record that fits: the same drops, counted by the kernel.
            long programs = (long)(k.LostBatches + k.LostThrottles);
            var deadline = Stopwatch.StartNew();
            while (perf.LostRecords != programs && deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                // A record on every CPU lets perf write its pending LOST record.
                foreach (int cpu in new[] { 0, 1 })
                    BpfState.Run("taskset", $"-c {cpu} sh -c 'sleep 0.01; sleep 0.01'");
                engine.CollectWindow().Dispose();
                KernelStats now = engine.Tracer.ReadStats();
                programs = (long)(now.LostBatches + now.LostThrottles);
            }
            Assert.Equal(programs, perf.LostRecords);
        }
    }

    [Fact]
    public unsafe void A_per_cpu_lookup_into_a_buffer_one_cpu_short_is_refused_before_the_kernel_writes()
    {
        TraceEngine engine = StartEngine(TransportMode.RingBuf, AttachMode.TpBtf);
        int cpus = KernelInfo.PossibleCpus;
        // The possible CPUs, whatever this process's affinity or CPU quota.
        Assert.Equal(Cgroups.CpuList.Parse(File.ReadAllText(KernelInfo.PossibleCpusPath)).Count, cpus);
        int size = Unsafe.SizeOf<KernelStats>();
        byte[] buffer = new byte[cpus * size + 64];
        Array.Fill(buffer, (byte)0xA5);
        uint key = 0;
        int shortResult, fullResult;
        fixed (byte* p = buffer)
        {
            shortResult = Interop.Interop.MapLookup(engine.Tracer!.StatsMapFd, &key, p, (uint)((cpus - 1) * size));
            Assert.All(buffer, b => Assert.Equal(0xA5, b));
            fullResult = Interop.Interop.MapLookup(engine.Tracer.StatsMapFd, &key, p, (uint)(cpus * size));
        }
        const int ENOSPC = 28;
        Assert.Equal(-ENOSPC, shortResult);
        Assert.Equal(0, fullResult);
        // The kernel wrote the possible CPUs' values and not a byte past them.
        Assert.All(buffer[(cpus * size)..], b => Assert.Equal(0xA5, b));
    }

    [Fact]
    public void Stamps_of_tasks_that_are_gone_do_not_stay_in_the_stamp_map()
    {
        // raw_tp times waits with our own stamps (tp_btf uses the kernel's): the map that could fill.
        TraceEngine engine = StartEngine(TransportMode.RingBuf, AttachMode.RawTp);
        Assert.Equal("wakeup", engine.Kernel.WaitStamps);

        // Hundreds of short-lived tasks that talk before they exit: some are woken while still
        // running and exit with a stamp they never consume.
        BpfState.Run("sh", "-c \"perf bench sched messaging -g 5 -l 200 > /dev/null; for i in $(seq 300); do sh -c true & done; wait\"");

        int mapId = MapId(engine.Tracer!.MapFd("queued_at"));
        var deadline = Stopwatch.StartNew();
        IReadOnlyList<uint> gone;
        // A task is freed an RCU grace period after it is reaped.
        while ((gone = StampsOfGoneTasks(mapId)).Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(100);
        Assert.True(gone.Count == 0, $"stamps of {gone.Count} tasks that no longer exist: {string.Join(' ', gone.Take(20))}");
        using EngineSnapshot s = engine.CollectWindow();
        Assert.Equal(0UL, s.KernelCounters.StampMapFull);
    }

    // /proc/self/fdinfo of a BPF map fd names its id.
    private static int MapId(int fd) =>
        File.ReadLines($"/proc/self/fdinfo/{fd}").Where(l => l.StartsWith("map_id:", StringComparison.Ordinal))
            .Select(l => int.Parse(l["map_id:".Length..].Trim())).Single();

    private static List<uint> StampsOfGoneTasks(int mapId)
    {
        using JsonDocument doc = JsonDocument.Parse(BpfState.Run("bpftool", $"-j map dump id {mapId}"));
        var gone = new List<uint>();
        foreach (JsonElement e in doc.RootElement.EnumerateArray())
        {
            // Raw dump: the key as hex byte strings, little-endian u32 pid.
            byte[] key = e.GetProperty("key").EnumerateArray().Select(b => Convert.ToByte(b.GetString(), 16)).ToArray();
            uint pid = BitConverter.ToUInt32(key);
            if (!Directory.Exists($"/proc/{pid}"))
                gone.Add(pid);
        }
        return gone;
    }
}
