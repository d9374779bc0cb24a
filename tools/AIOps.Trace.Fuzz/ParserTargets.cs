using System.Text;
using AIOps.Trace.Bpf;
using AIOps.Trace.Cgroups;
using AIOps.Trace.Network;
using AIOps.Trace.Sources;

namespace AIOps.Trace.Hardening;

/// <summary>
/// Every parser of outside input, one target per family, each fed one input whole: the table the
/// SharpFuzz harness (tools/AIOps.Trace.Fuzz) runs under AFL++ and the CsCheck properties of the
/// Test target (ParserPropertyTests) run on mutated and random input, so the two cannot drift
/// apart. A target lets through only its parsers' documented refusals; any other exception or a
/// hang is a finding. Shared as a source file: both projects see AIOps.Trace's internals.
/// </summary>
internal static class ParserTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["mountinfo"] = bytes =>
        {
            string text = Encoding.UTF8.GetString(bytes);
            CgroupMounts.Parse(text, "/", _ => null);
            CgroupMounts.Parse(text, "/host", _ => "0::/\n");
        },
        ["proc-stat"] = bytes =>
        {
            string text = Encoding.UTF8.GetString(bytes);
            PerCpuTime.Parse(text).BusySince(PerCpuTime.Parse(text));
            foreach (string line in text.Split('\n'))
                HostCpu.IdleRatio(HostCpu.Parse(line), HostCpu.Parse(line));
        },
        ["proc-pid"] = bytes =>
        {
            ProcfsText.TryParseSchedStat(bytes, out _);
            ProcfsText.TryParseNonvoluntarySwitches(bytes, out _);
            ProcfsText.TryParseStartTime(bytes, out _);
            ProcfsText.TryParseUptimeTicks(bytes, out _);
            ProcfsText.TryFindCpuCgroup(bytes, out _);
            ProcfsReader.ParseId(Encoding.UTF8.GetString(bytes));
        },
        ["cgroupfs"] = bytes =>
        {
            string text = Encoding.UTF8.GetString(bytes);
            CpuStat.Parse(text);
            CpuList.ParseOrEmpty(text);
            try
            {
                CpuList.Parse(text);
            }
            catch (FormatException)
            {
                // The documented refusal (callers reading cgroup files use ParseOrEmpty).
            }
            CpuLimits.ParseCpuMax(text);
            DiskFiles.ParseIoStat(text);
            DiskFiles.ParseIoMax(text);
            DiskFiles.ParseDiskstats(text);
            DiskFiles.ParseTaskIo(text);
            DiskFiles.ParseV1Rwstat(text);
            DeviceNumber.TryParse(text, out _);
            MemoryFiles.ParseLong(text);
            MemoryFiles.ParseV1Limit(text);
            MemoryFiles.ParseV2Max(text);
            MemoryFiles.KeyedValue(text, "nr_periods");
            MemoryFiles.ParsePsiSome(text);
            MemoryFiles.AvailableRatio(text);
            MemoryFiles.HostReclaimScanned(text);
            ContainerNaming.FromPath(text);
        },
        ["net-text"] = bytes =>
        {
            string text = Encoding.UTF8.GetString(bytes);
            NetText.ParseNetDev(text, out _);
            NetText.ParseSnmpTcp(text);
        },
        ["netlink"] = bytes =>
        {
            int skipped = 0;
            foreach (ushort type in (ushort[])[16, 36, 40])
                RtNetlink.ReadDatagram(bytes, type, _ => true, ref skipped, out _);
            RtNetlink.TryParseLink(bytes, out _);
            RtNetlink.TryParseQdisc(bytes, out _);
            RtNetlink.TryParseClass(bytes, out _);
        },
        // A parser plus a planted fault on any input holding '!', so fuzz.sh can show that a crash is seen.
        ["canary"] = bytes =>
        {
            CpuStat.Parse(Encoding.UTF8.GetString(bytes)); // instrumented code, which AFL++ needs to run at all
            if (bytes.AsSpan().Contains((byte)'!'))
                throw new InvalidOperationException("canary: the harness reports an exception as a crash");
        },
        ["btf"] = bytes =>
        {
            // One file per thread: the properties run samples on several threads at once.
            string file = Path.Combine(Path.GetTempPath(), $"aiops-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}.btf");
            File.WriteAllBytes(file, bytes);
            try
            {
                BtfFile.Check(file);
            }
            catch (BtfFileException)
            {
                // The documented refusal: one line naming the file.
            }
            finally
            {
                File.Delete(file);
            }
        },
    };

    /// <summary>Where each target's first inputs come from: this machine's own files, else a small valid sample.</summary>
    private static readonly Dictionary<string, (string Path, string Fallback)[]> Seeds = new(StringComparer.Ordinal)
    {
        ["mountinfo"] = [("/proc/self/mountinfo", "29 1 0:26 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n")],
        ["proc-stat"] = [("/proc/stat", "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")],
        ["proc-pid"] = [("/proc/self/schedstat", "123 456 7\n"), ("/proc/self/status", "nonvoluntary_ctxt_switches:\t3\n"),
            ("/proc/self/stat", "1 (a b) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"), ("/proc/self/cgroup", "0::/user.slice\n4:cpu,cpuacct:/x\n")],
        ["cgroupfs"] = [("/sys/fs/cgroup/cpu/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n"),
            ("/sys/fs/cgroup/unified/cpu.stat", "usage_usec 10\nuser_usec 5\nsystem_usec 5\n"), ("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3,5\n"),
            ("/proc/diskstats", "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"), ("/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=12\n"),
            ("", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"), ("", "8:0 rbps=max wbps=1048576 riops=max wiops=max\n"), ("", "50000 100000\n")],
        ["net-text"] = [("/proc/net/dev", "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"), ("/proc/net/snmp", "Tcp: RtoAlgorithm RetransSegs\nTcp: 1 2\n")],
        ["btf"] = [("/sys/kernel/btf/vmlinux", "")],
        ["canary"] = [("", "hello, fuzzer")],
    };

    /// <summary>A target's first inputs: this machine's own files (at most 4 KiB each: AFL++ prefers small inputs), else a small valid sample.</summary>
    public static IEnumerable<byte[]> SeedInputs(string target)
    {
        if (target == "netlink")
        {
            byte[] request = RtNetlink.DumpRequest(18, 1);
            yield return [.. request, .. request];
            yield break;
        }
        foreach ((string path, string fallback) in Seeds[target])
        {
            byte[] bytes;
            try
            {
                bytes = path.Length > 0 ? File.ReadAllBytes(path) : Encoding.UTF8.GetBytes(fallback);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                bytes = Encoding.UTF8.GetBytes(fallback);
            }
            if (target == "btf" && bytes.Length == 0)
                bytes = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
            yield return bytes.Length > 4096 ? bytes[..4096] : bytes;
        }
    }
}
