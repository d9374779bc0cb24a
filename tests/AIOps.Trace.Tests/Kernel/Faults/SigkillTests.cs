using System.Diagnostics;
using AIOps.Trace.Tests.Kernel.Serve;

namespace AIOps.Trace.Tests.Kernel.Faults;

/// <summary>
/// `serve` killed with SIGKILL in the middle of a window (no handler runs, nothing is detached by
/// us): the kernel must release every program, link and map it held, as bpftool sees them, and a
/// new `serve` must start clean. Ours are told from other tracers on the machine by the fds the
/// killed process held (/proc/PID/fdinfo names each BPF object's id).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SigkillTests : KernelTestBase
{
    /// <summary>The ids of the BPF programs, maps and links whose fds process <paramref name="pid"/> holds.</summary>
    private static (HashSet<int> Progs, HashSet<int> Maps, HashSet<int> Links) BpfObjectsOf(int pid)
    {
        var progs = new HashSet<int>();
        var maps = new HashSet<int>();
        var links = new HashSet<int>();
        foreach (string fd in Directory.EnumerateFiles($"/proc/{pid}/fdinfo"))
        {
            string text;
            try
            {
                text = File.ReadAllText(fd);
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }
            foreach (string line in text.Split('\n'))
            {
                string[] kv = line.Split(':', 2, StringSplitOptions.TrimEntries);
                if (kv.Length != 2 || !int.TryParse(kv[1], out int id))
                    continue;
                if (kv[0] == "prog_id") progs.Add(id);
                else if (kv[0] == "map_id") maps.Add(id);
                else if (kv[0] == "link_id") links.Add(id);
            }
        }
        return (progs, maps, links);
    }

    private static HashSet<int> Listed(string kind)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(BpfState.Run("bpftool", $"-j {kind} show"));
        return doc.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetInt32()).ToHashSet();
    }

    [Fact]
    public void After_sigkill_mid_window_the_kernel_holds_nothing_of_ours_and_a_new_serve_starts_clean()
    {
        int pid;
        (HashSet<int> Progs, HashSet<int> Maps, HashSet<int> Links) ours;
        using (ServeProcess serve = ServeProcess.Start(null, "--mode", "ebpf", "--interval", "1s"))
        {
            pid = serve.Pid;
            long seq = serve.WaitForWindowAfter(0);
            ours = BpfObjectsOf(pid);
            Assert.NotEmpty(ours.Progs);
            Assert.NotEmpty(ours.Maps);
            Assert.NotEmpty(ours.Links);
            Assert.Subset(Listed("prog"), ours.Progs);
            Assert.Subset(Listed("link"), ours.Links);

            // Mid-window: half an interval after a cut.
            serve.WaitForWindowAfter(seq);
            Thread.Sleep(500);
            using Process p = Process.GetProcessById(pid);
            p.Kill(); // SIGKILL
            Assert.True(p.WaitForExit(10_000), "serve did not die on SIGKILL");
        }

        // The kernel frees programs and maps after an RCU grace period once the last fd is gone.
        var deadline = Stopwatch.StartNew();
        (int progs, int maps, int links) left;
        do
        {
            left = (Listed("prog").Intersect(ours.Progs).Count(), Listed("map").Intersect(ours.Maps).Count(), Listed("link").Intersect(ours.Links).Count());
            if (left == (0, 0, 0))
                break;
            Thread.Sleep(100);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Equal((0, 0, 0), left);

        using ServeProcess again = ServeProcess.Start(null, "--mode", "ebpf", "--interval", "1s");
        again.WaitForWindowAfter(0);
        using System.Text.Json.JsonDocument list = again.GetJson("api/v1/containers");
        System.Text.Json.JsonElement engine = list.RootElement.GetProperty("engine");
        Assert.True(engine.GetProperty("ready").GetBoolean());
        Assert.Equal(0, engine.GetProperty("reader_failures").GetInt64());
        (HashSet<int> progs, _, HashSet<int> links) = BpfObjectsOf(again.Pid);
        Assert.Equal(ours.Progs.Count, progs.Count);
        Assert.Equal(ours.Links.Count, links.Count);
        Assert.Empty(progs.Intersect(ours.Progs)); // new programs, not the dead process' ones
    }
}
