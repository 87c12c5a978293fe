using System.Globalization;
using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Headers;
using Pelint.Pe.Relocations;

namespace Pelint.Rules;

/// <summary>PE1003: every base relocation block is well-formed.</summary>
public sealed class RelocationBlocks : IRule
{
    /// <summary>A broken directory can have thousands of bad blocks; past this, one summary result.</summary>
    public const int MaxFindingsPerImage = 50;

    public string Id => "PE1003";

    public Applicability GetApplicability(PeImage image) =>
        image.BaseRelocations.IsPresent ? Applicability.Applicable : Applicability.NotApplicable("no base relocation directory");

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.BaseRelocations;
        var findings = new List<Finding>();
        foreach (var problem in table.Problems)
        {
            findings.Add(context.Report("framing", new FindingLocation(problem.FileOffset, problem.Length, problem.Rva, Description: "base relocation directory"),
                $"framing:{problem.Id}", context.FileName, problem.Message));
        }

        var machine = MachineNames.Of(image.Machine);
        foreach (var block in table.Blocks)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var where = new FindingLocation(block.FileOffset, BaseRelocationBlock.HeaderSize, block.PageRva, Description: $"relocation block {block.Index}");
            var key = BlockKey(image, block);
            var name = context.FileName;
            if (block.SizeOfBlock < BaseRelocationBlock.HeaderSize)
            {
                findings.Add(context.Report("size-too-small", where, $"{key}:size", name, Num(block.Index), block.PageRva.ToString("X", CultureInfo.InvariantCulture), Num(block.SizeOfBlock)));
                continue;
            }

            if ((block.SizeOfBlock & 1) != 0)
            {
                findings.Add(context.Report("size-odd", where, $"{key}:odd", name, Num(block.Index), block.PageRva.ToString("X", CultureInfo.InvariantCulture), Num(block.SizeOfBlock)));
            }

            if ((block.PageRva & 0xFFF) != 0)
            {
                findings.Add(context.Report("page-unaligned", where, $"{key}:unaligned", name, Num(block.Index), block.PageRva.ToString("X", CultureInfo.InvariantCulture)));
            }

            if (block.PageRva >= image.Map.SizeOfImage)
            {
                findings.Add(context.Report("page-outside", where, $"{key}:outside", name, Num(block.Index), block.PageRva.ToString("X", CultureInfo.InvariantCulture), image.Map.SizeOfImage.ToString("X", CultureInfo.InvariantCulture)));
                continue;
            }

            CheckEntries(context, image, block, where, key, machine, findings);
        }

        return FindingCap.Apply(context, findings, MaxFindingsPerImage, new FindingLocation(table.Directory.FileOffset, 8));
    }

    private static void CheckEntries(RuleContext context, PeImage image, BaseRelocationBlock block, FindingLocation where, string key, string machine, List<Finding> findings)
    {
        var table = image.BaseRelocations;
        Span<int> badTypeCount = stackalloc int[16];
        Span<int> firstBadOffset = stackalloc int[16];
        var outside = 0;
        uint firstOutside = 0;
        for (var i = 0; i < block.EntryCount; i++)
        {
            var entry = table.GetEntry(block, i);
            var type = (int)entry.Type;
            if (!IsLegal(image.Machine, entry.Type))
            {
                if (badTypeCount[type]++ == 0)
                {
                    firstBadOffset[type] = entry.Offset;
                }

                continue;
            }

            var width = FixupWidth(entry.Type);
            if (width == 0)
            {
                continue;
            }

            var target = (ulong)block.PageRva + (uint)entry.Offset;
            var section = target <= uint.MaxValue ? image.Map.FindSection((uint)target) : null;
            if (section is null || target + (uint)width > (ulong)section.VirtualAddress + section.MappedSize)
            {
                if (outside++ == 0)
                {
                    firstOutside = (uint)Math.Min(target, uint.MaxValue);
                }
            }
        }

        for (var type = 0; type < 16; type++)
        {
            if (badTypeCount[type] > 0)
            {
                findings.Add(context.Report("bad-type", where, $"{key}:type{type}", context.FileName, Num(block.Index), block.PageRva.ToString("X", CultureInfo.InvariantCulture),
                    Num(badTypeCount[type]), Num(type), machine, firstBadOffset[type].ToString("X", CultureInfo.InvariantCulture)));
            }
        }

        if (outside > 0)
        {
            findings.Add(context.Report("target-outside", where, $"{key}:target", context.FileName, Num(block.Index), block.PageRva.ToString("X", CultureInfo.InvariantCulture),
                Num(outside), firstOutside.ToString("X", CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>Base relocation types each machine's loader applies (PE/COFF spec, "Base Relocation Types").</summary>
    public static bool IsLegal(Machine machine, BaseRelocationType type) => machine switch
    {
        Machine.Amd64 => type is BaseRelocationType.Absolute or BaseRelocationType.Dir64,
        Machine.I386 => type is BaseRelocationType.Absolute or BaseRelocationType.High or BaseRelocationType.Low
            or BaseRelocationType.HighLow or BaseRelocationType.HighAdj,
        Machine.Arm64 => type is BaseRelocationType.Absolute or BaseRelocationType.HighLow or BaseRelocationType.Dir64,
        Machine.Arm or Machine.ArmThumb2 or Machine.Thumb => type is BaseRelocationType.Absolute or BaseRelocationType.HighLow
            or BaseRelocationType.MachineSpecific5 or BaseRelocationType.MachineSpecific7,
        _ => (int)type <= (int)BaseRelocationType.Dir64 && type != BaseRelocationType.Reserved6,
    };

    private static int FixupWidth(BaseRelocationType type) => type switch
    {
        BaseRelocationType.Absolute => 0,
        BaseRelocationType.Dir64 => 8,
        BaseRelocationType.High or BaseRelocationType.Low or BaseRelocationType.HighAdj => 2,
        _ => 4,
    };

    // Blocks are keyed by the section their page falls in and their index within it, which
    // survives a rebuild that moves sections; a bare page RVA would not.
    private static string BlockKey(PeImage image, BaseRelocationBlock block)
    {
        var section = image.Map.FindSection(block.PageRva);
        return section is null ? $"block:{block.Index}" : $"block:{section.Name}:{(block.PageRva - section.VirtualAddress) >> 12}";
    }

    private static string Num(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
