using System.Diagnostics;
using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Base of kernel-facing tests: owns the engine, cgroups and processes a test makes, and on
/// dispose removes them and fails the test if a BPF program, link or cgroup is left behind.
/// </summary>
[Collection(KernelCollection.Name)]
public abstract class KernelTestBase : IDisposable
{
    private const string LockPath = "/run/aiops-trace-kernel-tests.lock";

    private readonly List<IDisposable> _owned = new();
    private readonly List<Process> _processes = new();
    private readonly FileStream _machineLock;

    protected KernelTestBase()
    {
        Assert.True(Environment.IsPrivilegedProcess, "kernel tests need root: run them as CI does (sudo ./build.sh --target=Test)");
        _machineLock = AcquireMachineLock();
        Assert.Empty(BpfState.OurProgramsAfterRelease());
    }

    /// <summary>
    /// One kernel test at a time on the whole machine, across test processes too: two would load
    /// programs side by side and share the CPUs that the ground-truth comparisons pin.
    /// </summary>
    private static FileStream AcquireMachineLock()
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes an exclusive flock on the file.
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < TimeSpan.FromMinutes(15))
            {
                Thread.Sleep(200);
            }
        }
    }

    protected TraceEngine StartEngine(EngineOptions? options = null) => Own(TraceEngine.Start(options));

    /// <summary>Starts the engine with a forced attach mechanism on the ring buffer and checks it got both.</summary>
    protected TraceEngine StartEngine(AttachMode attach) => StartEngine(TransportMode.RingBuf, attach);

    /// <summary>Starts the engine with a forced transport and attach mechanism (one tier) and checks it got both.</summary>
    protected TraceEngine StartEngine(TransportMode transport, AttachMode attach)
    {
        TraceEngine engine = StartEngine(new EngineOptions { Tracer = new TracerOptions { Transport = transport, Attach = attach } });
        Assert.Equal(AttachModes.Name(transport), engine.Kernel.Ring);
        Assert.Equal(AttachModes.Name(attach), engine.Kernel.Attach);
        return engine;
    }

    /// <summary>
    /// Starts the engine on tp_btf with wake-up stamps in a map (the "btf" programs kernels without
    /// live sched_info use) instead of the kernel's own enqueue stamps, and checks it got them.
    /// </summary>
    protected TraceEngine StartEngineWithWakeupStamps()
    {
        TraceEngine engine = StartEngine(new EngineOptions { Tracer = new TracerOptions { Attach = AttachMode.TpBtf, SchedInfoWaits = false } });
        Assert.Equal("tp_btf", engine.Kernel.Attach);
        Assert.Equal("wakeup", engine.Kernel.WaitStamps);
        return engine;
    }

    protected TestCgroup NewCgroup(string role) => Own(TestCgroup.Create(role));

    protected Process Track(Process p)
    {
        _processes.Add(p);
        return p;
    }

    protected T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>Stops (SIGSTOP) processes so their counters freeze while the test reads them.</summary>
    protected static void Freeze(params Process[] processes)
    {
        foreach (Process p in processes)
            BpfState.Run("kill", $"-STOP {p.Id}");
    }

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
            p.Dispose();
        }
        // Engines before cgroups: links go first, then the cgroups can be removed.
        for (int i = _owned.Count - 1; i >= 0; i--)
            _owned[i].Dispose();

        IReadOnlyList<int> programs = BpfState.OurProgramsAfterRelease();
        if (programs.Count > 0)
            _machineLock.Dispose();
        Assert.True(programs.Count == 0, $"BPF programs left loaded: {string.Join(", ", programs)} ({BpfState.LinksOf(programs)} links)");
        try
        {
            Assert.Empty(TestCgroup.Leftovers());
        }
        finally
        {
            _machineLock.Dispose();
        }
        GC.SuppressFinalize(this);
    }
}
