using System.Diagnostics;
using System.Runtime.InteropServices;
using AIOps.Trace.Evaluation;

namespace AIOps.Trace.Tests.Kernel.Detection;

/// <summary>A fault (or a domain-wide load shift) in progress: its level can change (a ramp), and Dispose takes it back.</summary>
public interface IInjectedFault : IDisposable
{
    /// <summary>Severity in (0, 1]: 1 is the strongest level the benchmark records.</summary>
    void SetLevel(double level);
}

/// <summary>
/// A fault given to one replica of a <see cref="ReplicaDomain"/> while the others run as before,
/// at a graded severity, and taken back at the end of its episode. <see cref="Kind"/> is the label
/// of the replica's windows while it lasts. <see cref="FaultKinds.LoadShift"/> is no fault: it
/// raises every replica's load alike (their windows stay labelled none).
/// </summary>
public sealed record DetectionFault(string Kind, Func<ReplicaDomain, Replica, double, IInjectedFault> Start)
{
    /// <summary>Severity of a mild fault: the level a single metric threshold tends to miss.</summary>
    public const double Mild = 0.3;

    public static readonly IReadOnlyList<DetectionFault> All =
    [
        // A CFS quota under the replica's demand: a quarter of it at level 1, four fifths when mild.
        new(FaultKinds.CpuCap, (d, r, level) => new Injected(level,
            l => r.App.WriteCpu("cpu.cfs_quota_us", Math.Max(1000, (int)(d.Profile.CpuDemandPercent * 1000 * (1 - 0.75 * l))).ToString()),
            () => r.App.WriteCpu("cpu.cfs_quota_us", "-1"))),

        // A sidecar in the same pod with two busy loops, capped by its own quota (a third of a CPU
        // when mild, a whole one at level 1) and up to ten times the app's shares: it takes the
        // pod's CPU time from the app without flooding the shared machine.
        new(FaultKinds.NoisyNeighbour, (d, r, level) =>
        {
            TestCgroup hog = d.AddCgroup(r.Pod.CreateChild("hog"));
            var fault = new Injected(level, l =>
            {
                hog.WriteCpu("cpu.shares", ((int)(d.Profile.CpuShares * (1 + 9 * l))).ToString());
                hog.WriteCpu("cpu.cfs_quota_us", ((int)(100_000 * (0.1 + 0.9 * l))).ToString());
            }, hog.Dispose);
            d.Track(hog.Start(TestCgroup.BusyLoop));
            d.Track(hog.Start(TestCgroup.BusyLoop));
            return fault;
        }),

        // The cpuset cut to CPU 1, where a co-tenant with ten times the shares spins under a quota
        // (a fifth of a CPU when mild, nine tenths at level 1): the other replicas keep CPU 0.
        new(FaultKinds.CpusetSqueeze, (d, r, level) =>
        {
            string cpus = r.App.Read("cpuset", "cpuset.cpus");
            TestCgroup tenant = d.AddCgroup(TestCgroup.Create("detection-tenant"));
            tenant.Write("cpuset", "cpuset.cpus", "1");
            tenant.WriteCpu("cpu.shares", "10240");
            var fault = new Injected(level, l => tenant.WriteCpu("cpu.cfs_quota_us", ((int)(100_000 * (0.1 + 0.8 * l))).ToString()), () =>
            {
                r.App.Write("cpuset", "cpuset.cpus", cpus);
                tenant.Dispose();
            });
            r.App.Write("cpuset", "cpuset.cpus", "1");
            d.Track(tenant.Start(TestCgroup.BusyLoop));
            return fault;
        }),

        // The limit set below what the replica uses now, by a tenth of its cached file when mild
        // and half of it at level 1: its reads reclaim its own cache at the limit (no OOM: page
        // cache is reclaimable).
        new(FaultKinds.MemoryLimit, (d, r, level) =>
        {
            long usage = long.Parse(r.App.Read("memory", "memory.usage_in_bytes"));
            return new Injected(level,
                l => r.App.Write("memory", "memory.limit_in_bytes", Math.Max(usage - (long)(ReplicaDomain.CachedFileBytes * (0.1 + 0.4 * l)), 16L << 20).ToString()),
                () => r.App.Write("memory", "memory.limit_in_bytes", d.Profile.MemoryLimitBytes.ToString()));
        }),

        // blkio read and write IOPS throttles under the demand: 30% of it at level 1, 80% when mild.
        new(FaultKinds.IoThrottle, (d, r, level) => new Injected(level, l =>
        {
            int iops = Math.Max(1, (int)Math.Round(d.Profile.Iops * (1 - 0.7 * l)));
            r.App.Write("blkio", "blkio.throttle.read_iops_device", $"{d.Device.Number} {iops}");
            r.App.Write("blkio", "blkio.throttle.write_iops_device", $"{d.Device.Number} {iops}");
        }, () =>
        {
            r.App.Write("blkio", "blkio.throttle.read_iops_device", $"{d.Device.Number} 0");
            r.App.Write("blkio", "blkio.throttle.write_iops_device", $"{d.Device.Number} 0");
        })),

        // Data segments dropped on the path: 12% at level 1, 4% when mild (netem is not in this kernel: see NetworkScenario).
        new(FaultKinds.NetworkLoss, (_, r, level) => new Injected(level,
            l => r.Network.DropAtPeer(percent: Math.Max(1, (int)Math.Round(12 * l))), r.Network.StopDropping)),

        // The application stalls: its own I/O and TCP processes are paused for part of every 200 ms
        // (a third when mild, three quarters at level 1), as a slow dependency or a lock would hold
        // them. No cgroup setting changes; only what the application gets done.
        new(FaultKinds.AppStall, (_, r, level) => new Stall(r, level)),

        // Not a fault: every replica of the domain takes on more work at once (CPU and I/O up with the level).
        new(FaultKinds.LoadShift, (d, _, level) => new Shift(d, level)),
    ];

    public static DetectionFault Of(string kind) => All.Single(f => f.Kind == kind);

    /// <summary>A fault whose level is set by one action and taken back by another.</summary>
    private sealed class Injected : IInjectedFault
    {
        private readonly Action<double> _set;
        private readonly Action _undo;

        public Injected(double level, Action<double> set, Action undo)
        {
            (_set, _undo) = (set, undo);
            set(level);
        }

        public void SetLevel(double level) => _set(level);

        public void Dispose() => _undo();
    }

    /// <summary>Pauses (SIGSTOP) and resumes (SIGCONT) the replica's fio and iperf3 processes on a 200 ms cycle.</summary>
    private sealed class Stall : IInjectedFault
    {
        private const int CycleMs = 200;
        private readonly Replica _replica;
        private readonly Thread _thread;
        private volatile bool _stop;
        private double _stopped;

        public Stall(Replica replica, double level)
        {
            _replica = replica;
            SetLevel(level);
            _thread = new Thread(Cycle) { IsBackground = true, Name = "app-stall" };
            _thread.Start();
        }

        public void SetLevel(double level) => Volatile.Write(ref _stopped, 0.15 + 0.6 * level);

        private IReadOnlyList<int> Targets() =>
            _replica.App.Pids().Where(p => Comm(p) is "fio" or "iperf3").ToList();

        private void Cycle()
        {
            while (!_stop)
            {
                IReadOnlyList<int> pids = Targets();
                double stopped = Volatile.Read(ref _stopped);
                Signal(pids, SigStop);
                Thread.Sleep((int)(CycleMs * stopped));
                Signal(pids, SigCont);
                Thread.Sleep((int)(CycleMs * (1 - stopped)));
            }
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
            Signal(Targets(), SigCont); // nothing stays paused, whatever the cycle's phase was
        }

        private static string? Comm(int pid)
        {
            try { return File.ReadAllText($"/proc/{pid}/comm").Trim(); }
            catch (IOException) { return null; }
        }

        private const int SigStop = 19, SigCont = 18;

        private static void Signal(IReadOnlyList<int> pids, int signal)
        {
            foreach (int pid in pids)
                _ = Kill(pid, signal); // a process gone since it was listed: ESRCH, nothing to pause
        }

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int Kill(int pid, int sig);
    }

    /// <summary>Extra work in every replica: stress-ng at up to 1.5 times the replica's CPU load and fio at up to its rate.</summary>
    private sealed class Shift : IInjectedFault
    {
        private readonly ReplicaDomain _domain;
        private readonly List<Process> _extra = new();

        public Shift(ReplicaDomain domain, double level)
        {
            _domain = domain;
            SetLevel(level);
        }

        public void SetLevel(double level)
        {
            Stop();
            int cpu = Math.Max(1, (int)Math.Round(_domain.Profile.CpuLoadPercent * 1.5 * level));
            int iops = Math.Max(1, (int)Math.Round(_domain.Profile.Iops * level));
            foreach (Replica r in _domain.Replicas)
            {
                _extra.Add(_domain.Track(r.App.Start($"stress-ng --cpu 1 --cpu-load {cpu} --cpu-load-slice 20 --quiet")));
                _extra.Add(_domain.Track(r.App.Start(_domain.Fio(iops))));
            }
        }

        private void Stop()
        {
            foreach (Process p in _extra)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit(5000);
            }
            _extra.Clear();
        }

        public void Dispose() => Stop();
    }
}
