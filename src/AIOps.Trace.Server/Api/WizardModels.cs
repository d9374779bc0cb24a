using AIOps.Trace.Diagnosis;

namespace AIOps.Trace.Server.Api;

// The answer-first part of the JSON contract (docs/http-api.md, "Summary and wizard").

/// <summary>GET /api/v1/summary: the host's answer for the last window, worst first.</summary>
public sealed record SummaryDocument(string Node, long Seq, HostAnswer Answer);

/// <summary>GET /api/v1/containers/{id}/wizard: each resource's tree walked step by step.</summary>
public sealed record WizardDocument(string Node, long Seq, string Id, string Name, IReadOnlyList<WizardResource> Resources);

/// <summary>One resource's walk: the outcome with what to do about it, and every question asked.</summary>
public sealed record WizardResource(string Resource, string Outcome, string Label, int Severity, string Summary, string? UndecidableReason,
    string NextStep, string CheckNext, IReadOnlyList<WizardStep> Steps);

/// <summary>
/// One question: the answer, the figure and threshold that decided it, where the figure comes
/// from, where each answer leads (<c>if_yes</c>/<c>if_no</c>), and which one was taken.
/// </summary>
public sealed record WizardStep(int Number, string Question, string Metric, double? Value, double? Threshold, bool Answer,
    string Source, string Taken, string NotTaken);

/// <summary>Builds the wizard and the summary from the diagnoses a window already holds: no file is read.</summary>
internal static class Wizard
{
    /// <summary>Resources in the order the wizard walks them.</summary>
    private static readonly string[] Order = ["cpu", "memory", "disk", "network"];

    public static WizardDocument Build(string node, long seq, ContainerDetailDocument detail)
    {
        var resources = new List<WizardResource>();
        foreach (string resource in Order.Concat(detail.Diagnosis.Keys.Except(Order).Order(StringComparer.Ordinal)))
        {
            if (!detail.Diagnosis.TryGetValue(resource, out ResourceDiagnosis? d))
                continue;
            OutcomeGuide guide = DiagnosisGuide.For(resource, d.Outcome);
            var steps = new List<WizardStep>(d.Path.Count);
            for (int i = 0; i < d.Path.Count; i++)
            {
                DiagnosisStep s = d.Path[i];
                StepGuide? g = DiagnosisGuide.Step(resource, s.Metric);
                string yes = g?.IfYes ?? "yes", no = g?.IfNo ?? "no";
                steps.Add(new WizardStep(i + 1, s.Step, s.Metric, Finite(s.Value), Finite(s.Threshold), s.Result,
                    g?.Source ?? "", s.Result ? yes : no, s.Result ? no : yes));
            }
            resources.Add(new WizardResource(resource, d.Outcome, guide.Label, guide.Severity, d.Summary, d.UndecidableReason,
                guide.NextStep, guide.CheckNext, steps));
        }
        ContainerView c = detail.Container;
        return new WizardDocument(node, seq, c.Id, c.Name, resources);
    }

    public static SummaryDocument Summary(string node, Engine.SidecarView view) =>
        new(node, view.Seq, HostAnswer.Build(view.Containers
            .Where(c => !c.Ended && view.Details.ContainsKey(c.Id))
            .Select(c => new ContainerVerdicts(c.Id, c.Name, view.Details[c.Id].Diagnosis))));

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;
}
