using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Analysis.Functions;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>Which rule speaks for a hazard the stack-walk verifier found.</summary>
internal enum StackWalkClass
{
    /// <summary>PE3005: in the body after part of the frame was released, where the unwinder sees no epilog.</summary>
    PartlyReleased,

    /// <summary>PE3006: in what the unwinder takes for an epilog, whose simulation does not undo the frame.</summary>
    Epilog,

    /// <summary>PE3010: in the prolog or body, where the codes do not describe the frame the code built.</summary>
    Codes,

    /// <summary>PE3011: a nonvolatile register restored from a slot below RSP.</summary>
    ReleasedSlot,
}

/// <summary>
/// What the stack-walk rules share: applicability, the class of each hazard, and one result per
/// function (the first hazard as its location, the others as related locations) with a message
/// that says what a stack walk stopped there computes.
/// </summary>
internal static class StackWalkFindings
{
    public static Applicability Applicability(PeImage image)
    {
        var native = Rules.Applicability.ForNativeCode(image);
        if (!native.IsApplicable)
        {
            return native;
        }

        if (image.Machine != Machine.Amd64)
        {
            return Rules.Applicability.NotApplicable($"x64 stack-walk rules; the image is {MachineNames.Of(image.Machine)}");
        }

        return image.ExceptionDirectory.IsPresent ? Rules.Applicability.Applicable : Rules.Applicability.NotApplicable("no exception directory (.pdata)");
    }

    /// <summary>The class of <paramref name="hazard"/> in <paramref name="verdict"/>'s function.</summary>
    public static StackWalkClass Classify(PeImage image, FunctionVerdict verdict, in Hazard hazard)
    {
        if (hazard.Kind == HazardKind.ReleasedSlot)
        {
            return StackWalkClass.ReleasedSlot;
        }

        if (hazard.Path != UnwindPath.Codes)
        {
            return StackWalkClass.Epilog;
        }

        // Past its fragment's prolog, after the frame was built, with less on the stack than the
        // codes describe: an epilog under way that the unwinder does not recognise. (Code that
        // runs before the prolog, like Go's stack-growth call, has not built the frame yet.)
        var pastProlog = image.ExceptionDirectory.FindContaining(hazard.Rva) is { } entry
            && image.ExceptionDirectory.UnwindInfoOf(entry) is { } info && hazard.Rva - entry.BeginAddress >= info.SizeOfProlog;
        var released = hazard.TrueRsp.IsStack && hazard.TrueRsp.Offset > -verdict.FrameDepth && hazard.Deepest <= -verdict.FrameDepth;
        return pastProlog && released ? StackWalkClass.PartlyReleased : StackWalkClass.Codes;
    }

    /// <summary>The hazards of one class in a function (handler-only functions have none: PE3012 speaks for them).</summary>
    public static List<Hazard> Of(PeImage image, FunctionVerdict verdict, StackWalkClass kind)
    {
        var hazards = new List<Hazard>();
        if (verdict.Description == FrameDescription.HandlerOnly && kind != StackWalkClass.ReleasedSlot)
        {
            return hazards;
        }

        foreach (var hazard in verdict.Hazards)
        {
            if (Classify(image, verdict, hazard) == kind)
            {
                hazards.Add(hazard);
            }
        }

        return hazards;
    }

    /// <summary>How many instructions of the function the hazards of this class touch (kept ones exactly; a capped kind counts all its instructions).</summary>
    public static int Affected(FunctionVerdict verdict, List<Hazard> hazards)
    {
        var kinds = hazards.Select(h => h.Kind).Distinct();
        var capped = kinds.Any(k => verdict.Count(k) > FunctionVerdict.MaxKept);
        return capped ? Math.Max(hazards.Count, kinds.Sum(verdict.Count)) : hazards.Select(h => h.Rva).Distinct().Count();
    }

    /// <summary>
    /// One result per function with hazards of <paramref name="kind"/>, built by
    /// <paramref name="describe"/> from the verdict and those hazards (the first is the place);
    /// past the rule's cap only counted.
    /// </summary>
    public static IEnumerable<Finding> PerFunction(RuleContext context, StackWalkClass kind, Func<FunctionVerdict, List<Hazard>, Finding> describe)
    {
        foreach (var verdict in StackWalkAnalysis.Of(context.Analysis).Verdicts)
        {
            var hazards = Of(context.Image, verdict, kind);
            if (hazards.Count > 0)
            {
                yield return context.IsPastCap ? Finding.PastCap : WithPlaces(context, describe(verdict, hazards), verdict, hazards);
            }
        }
    }

    /// <summary>The first hazard as the result's place; up to the rule's max-related-locations others as related locations.</summary>
    public static Finding WithPlaces(RuleContext context, Finding finding, FunctionVerdict verdict, List<Hazard> hazards)
    {
        var image = context.Image;
        var name = FunctionIdentity.Of(context.Analysis).DisplayName(verdict.Primary.BeginAddress);
        var related = hazards.Skip(1).Select(h => h.Rva).Distinct().Take(context.Descriptor.MaxRelatedLocations)
            .Select(rva => new FindingLocation(image.FileOffsetOf(rva), 1, rva, name, verdict.Primary.BeginAddress, $"also wrong at 0x{rva:X} ({InstructionText(image, rva)})"))
            .ToList();
        return finding with
        {
            RelatedLocations = related,
            Properties = new Dictionary<string, object>
            {
                ["instructionsAffected"] = Affected(verdict, hazards),
                ["instructionsChecked"] = verdict.InstructionsChecked,
            },
        };
    }

    public static FindingLocation Where(RuleContext context, FunctionVerdict verdict, in Hazard first)
    {
        var name = FunctionIdentity.Of(context.Analysis).DisplayName(verdict.Primary.BeginAddress);
        return new FindingLocation(context.Image.FileOffsetOf(first.Rva), 1, first.Rva, name, verdict.Primary.BeginAddress, $"first instruction where a stack walk goes wrong in {name}");
    }

    public static string FunctionName(RuleContext context, FunctionVerdict verdict) => FunctionIdentity.Of(context.Analysis).DisplayName(verdict.Primary.BeginAddress);

    public static string FunctionKey(RuleContext context, FunctionVerdict verdict) => FunctionIdentity.Of(context.Analysis).KeyOf(verdict.Primary);

    /// <summary>The instruction at an RVA as Iced formats it.</summary>
    public static string InstructionText(PeImage image, uint rva)
    {
        using var cursor = image.Code.OpenCursor();
        return cursor.TryDecodeAt(rva, out var instruction) && !instruction.IsInvalid ? instruction.ToString() : "?";
    }

    /// <summary>"entry rsp+0xe8", "the caller's rbp" ...: where the unwinder read the return address.</summary>
    public static string Slot(Sym address) => address.ToString();

    public static string Register(int register) => X64Registers.Name(register);
}
