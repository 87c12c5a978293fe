using System.Globalization;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>PE4004: packed ARM64 unwind data describes a frame that can exist.</summary>
[Rule("PE4004")]
public sealed partial class Arm64PackedUnwindRule : IRule
{
    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.Arm64Exceptions.Table;
        var inv = CultureInfo.InvariantCulture;
        foreach (var f in table.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (!f.IsPacked)
            {
                continue;
            }

            var p = f.Packed;
            var problems = new List<(string Kind, string Message)>();
            if (p.FunctionLength == 0)
            {
                problems.Add(("zero-length", "its function length is 0"));
            }

            if (p.RegI > 10)
            {
                problems.Add(("reg-i", string.Create(inv, $"RegI is {p.RegI}, but only x19-x28 (RegI 0-10) are nonvolatile; the unwinder would restore x29, x30 and beyond from the integer save area")));
            }

            var save = p.SaveSlots * 8;
            if (p.LocalSize < 0)
            {
                problems.Add(("frame-too-small", string.Create(inv, $"FrameSize {p.FrameSize} is smaller than its {save}-byte register save area (RegI {p.RegI}, RegF {p.RegF}, CR {p.CR}, H {(p.H ? 1 : 0)}), so the unwinder's stack adjustment is negative")));
            }
            else if (p.CR is 2 or 3 && p.LocalSize == 0)
            {
                problems.Add(("chained-without-frame", string.Create(inv, $"CR {p.CR} says the function saves x29/lr and sets up x29, but FrameSize {p.FrameSize} leaves no room for them below the {save}-byte save area; the unwinder expands no save_fplr or set_fp")));
            }

            if (!p.IsFragment && p.FunctionLength != 0 && p.LocalSize >= 0 && p.RegI <= 10)
            {
                var record = table.RecordOf(f)!;
                var prolog = record.ScopeSize(0, epilog: false);
                var epilog = record.ScopeSize(record.EpilogCount, epilog: true);
                if ((prolog + epilog) * 4 > p.FunctionLength)
                {
                    problems.Add(("too-short", string.Create(inv, $"its prolog ({prolog} instructions) and epilog ({epilog}) do not fit in its {p.FunctionLength} bytes")));
                }
            }

            foreach (var (kind, message) in problems)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.Problem(Arm64Facts.EntryLocation(image, f, "ARM64 .pdata entry (packed unwind data)"), $"{Arm64Facts.Key(context, f)}:{kind}",
                        context.FileName, f.UnwindData, Arm64Facts.Describe(image, f.BeginAddress), message);
            }
        }
    }
}
