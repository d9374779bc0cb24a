using AIOps.Trace.Cgroups;
using AIOps.Trace.Diagnosis;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace top`: a live terminal view of every container, the longest p99 run-queue latency
/// first, with preemptions by who preempted, throttling and the CPU diagnosis, redrawn each
/// interval until Ctrl-C. With `--once`, or when stdout is not a terminal, one plain table.
/// </summary>
internal static class TopCommand
{
    public static int Run(Arguments a)
    {
        TimeSpan interval = a.Duration("interval", TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200), TimeSpan.FromHours(1));
        bool once = a.Flag("once") || Console.IsOutputRedirected;
        string? rowsText = a.Value("rows");
        int maxRows = 40;
        if (rowsText is not null && (!int.TryParse(rowsText, out maxRows) || maxRows < 1))
            throw new UsageException($"--rows '{rowsText}' is not a positive whole number");
        string sort = a.Value("sort") ?? "p99";
        if (sort is not ("p99" or "severity"))
            throw new UsageException($"--sort '{sort}' is not one of p99, severity");
        bool bySeverity = sort == "severity";
        EngineOptions options = Program.EngineOptions(a);

        using TraceEngine engine = Program.StartEngine(options);
        // CPU only: the table has no memory, disk or network columns.
        using var session = new TraceSession(engine, options.HostRoot, probes: []);
        using CancellationTokenSource cts = Program.CancelOnSignal(out IDisposable signals);
        using (signals)
        {
            if (once)
            {
                cts.Token.WaitHandle.WaitOne(interval);
                (string header, List<TopRow> rows) = Collect(session, bySeverity);
                TopView.WritePlain(Console.Out, header, rows.Take(maxRows).ToList());
                return Program.ExitOk;
            }

            AnsiConsole.Live(new Text($"aiops-trace top: first window in {interval.TotalSeconds:0.###}s; Ctrl-C stops"))
                .AutoClear(false)
                .Overflow(VerticalOverflow.Ellipsis)
                .Start(ctx =>
                {
                    while (!cts.Token.WaitHandle.WaitOne(interval))
                    {
                        (string header, List<TopRow> rows) = Collect(session, bySeverity);
                        ctx.UpdateTarget(Render(header, rows, maxRows));
                        ctx.Refresh();
                    }
                });
        }
        return Program.ExitOk;
    }

    /// <summary>Cuts the session's window and diagnoses it.</summary>
    private static (string Header, List<TopRow> Rows) Collect(TraceSession session, bool bySeverity)
    {
        using TraceWindow window = session.Cut();
        IReadOnlyList<ContainerDiagnosis> diagnoses = WindowDiagnosis.Diagnose(window);
        return (TopView.Header(window.Snapshot, DateTime.Now), TopView.Rows(diagnoses, window.Seconds, bySeverity));
    }

    /// <summary>The live table. Names go in as <see cref="Text"/>, never markup, so no name can restyle the screen.</summary>
    private static IRenderable Render(string header, List<TopRow> rows, int maxRows)
    {
        var table = new Table().Border(TableBorder.Simple).Expand();
        for (int i = 0; i < TopView.Columns.Length; i++)
        {
            var column = new TableColumn(new Text(TopView.Columns[i], new Style(decoration: Decoration.Bold)));
            if (i > 0 && i < TopView.Columns.Length - 1)
                column.RightAligned();
            if (i == 0)
                column.NoWrap();
            table.AddColumn(column);
        }
        foreach (TopRow r in rows.Take(maxRows))
        {
            string[] cells = TopView.Cells(r);
            var renderables = new IRenderable[cells.Length];
            for (int i = 0; i < cells.Length - 1; i++)
                renderables[i] = new Text(cells[i]);
            renderables[0] = new Text(cells[0]) { Overflow = Overflow.Ellipsis };
            renderables[^1] = new Text(r.Outcome, OutcomeStyle(r.Outcome));
            table.AddRow(renderables);
        }
        if (rows.Count == 0)
            table.AddRow(new Text("(no container ran in this window)", new Style(Color.Grey)));
        return new Rows(new Text(header, new Style(Color.Grey)), table,
            new Text($"{Math.Min(rows.Count, maxRows)} of {rows.Count} containers; Ctrl-C stops", new Style(Color.Grey)));
    }

    private static Style OutcomeStyle(string outcome) => outcome switch
    {
        Outcomes.CapThrottled => new Style(Color.Red, decoration: Decoration.Bold),
        Outcomes.CpusetThrottled or Outcomes.ShareThrottled or Outcomes.PhysicalCpuThrottled => new Style(Color.Orange1, decoration: Decoration.Bold),
        Outcomes.NotThrottledDigFurther => new Style(Color.DodgerBlue1),
        Outcomes.NotThrottled => new Style(Color.Green),
        _ => new Style(Color.Grey),
    };
}
