using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// Base of kernel-facing tests: owns the engine, cgroups and processes a test makes, and on
/// dispose removes them and fails the test if a BPF program, link or cgroup is left behind.
/// </summary>
[Collection(KernelCollection.Name)]
public abstract class KernelTestBase : IDisposable
{
    private readonly List<IDisposable> _owned = new();
    private readonly List<Process> _processes = new();

    protected KernelTestBase()
    {
        Assert.True(Environment.IsPrivilegedProcess, "kernel tests need root: run them as CI does (sudo ./build.sh --target=Test)");
        Assert.Empty(BpfState.OurProgramsAfterRelease());
    }

    protected TraceEngine StartEngine(EngineOptions? options = null) => Own(TraceEngine.Start(options));

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
        Assert.True(programs.Count == 0, $"BPF programs left loaded: {string.Join(", ", programs)} ({BpfState.LinksOf(programs)} links)");
        Assert.Empty(TestCgroup.Leftovers());
        GC.SuppressFinalize(this);
    }
}
